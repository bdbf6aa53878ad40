package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Memory is a process's resident set, in bytes.
type Memory struct {
	// RSS is the resident set now (VmRSS).
	RSS int64
	// Peak is the largest resident set so far (VmHWM).
	Peak int64
}

// ReadMemory reads the memory of process pid from /proc (Linux only).
func ReadMemory(pid int) (Memory, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, err
	}
	return ParseStatus(data)
}

// ParseStatus reads VmRSS and VmHWM from the text of /proc/PID/status.
func ParseStatus(status []byte) (Memory, error) {
	var m Memory
	var found int
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		var dst *int64
		switch key {
		case "VmRSS":
			dst = &m.RSS
		case "VmHWM":
			dst = &m.Peak
		default:
			continue
		}
		// The kernel prints these in kB: "VmRSS:	  123456 kB".
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("parsing %s: %w", key, err)
		}
		*dst = kb * 1024
		found++
	}
	if found != 2 {
		return Memory{}, fmt.Errorf("VmRSS or VmHWM missing from the process status")
	}
	return m, nil
}

// MiB formats bytes as mebibytes, e.g. "512.3MiB".
func MiB(b int64) string {
	return strconv.FormatFloat(float64(b)/(1<<20), 'f', 1, 64) + "MiB"
}

// clockTicks is the kernel's USER_HZ, the unit of the CPU times in
// /proc/PID/stat: 100 on every Linux architecture Go supports.
const clockTicks = 100

// ReadCPU returns the CPU time (user + system, all threads) that process
// pid has used so far, from /proc (Linux only).
func ReadCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return ParseStat(data)
}

// ParseStat reads utime + stime from the text of /proc/PID/stat.
func ParseStat(stat []byte) (time.Duration, error) {
	// The command name, in parentheses, may hold spaces: count the fields
	// after its closing parenthesis, where field 3 (state) is the first.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed process stat")
	}
	fields := strings.Fields(string(stat[i+1:]))
	const utime, stime = 14 - 3, 15 - 3
	if len(fields) <= stime {
		return 0, fmt.Errorf("malformed process stat: %d fields", len(fields))
	}
	var ticks int64
	for _, f := range []string{fields[utime], fields[stime]} {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("malformed process stat: %w", err)
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// ReadBusy returns the CPU time all processes of the machine have used so
// far: the busy time of /proc/stat, summed over the CPUs (Linux only).
func ReadBusy() (time.Duration, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	return ParseBusy(data)
}

// ParseBusy reads the busy time (everything but idle and iowait) from the
// aggregate "cpu" line of the text of /proc/stat.
func ParseBusy(stat []byte) (time.Duration, error) {
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	fields := strings.Fields(string(line))
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, fmt.Errorf("malformed /proc/stat")
	}
	var busy int64
	// user nice system idle iowait irq softirq steal (guest time is
	// already counted in user).
	for i, f := range fields[1:min(len(fields), 9)] {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("malformed /proc/stat: %w", err)
		}
		if i != 3 && i != 4 {
			busy += v
		}
	}
	return time.Duration(busy) * time.Second / clockTicks, nil
}
