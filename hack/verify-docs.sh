#!/usr/bin/env bash
# Fails when README.md, CHANGELOG.md or a page of docs/ names, in backticks,
# a file or directory of the repository that does not exist, or a Go test,
# benchmark or fuzz target that no _test.go file declares. Docs are read by
# people who trust them; a renamed file or test must take its mentions along.
#
# Checked: backticked words that start with one of the repository's top-level
# directories (cmd/ pkg/ test/ hack/ docs/ artifacts/), as a path or as a
# package and one of its identifiers (pkg/standalone.Ensure), and backticked
# identifiers that start with Test, Benchmark or Fuzz followed by a capital.
# Words with a placeholder (<...>, *, {...}) are not paths and are skipped;
# so is anything after a colon or space (a line number, an argument).
set -o errexit -o nounset -o pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "${ROOT}"

status=0
docs=(README.md CHANGELOG.md docs/*.md)

# Every backticked span, one per line, with the file it is in.
spans() {
  grep -o '`[^`]*`' "$1" | tr -d '`' | awk '{print $1}' | sed 's/[:,;.)]*$//' | sort -u
}

tests=$(git grep -h -o -E '^func (Test|Benchmark|Fuzz)[A-Z][A-Za-z0-9_]*' -- '*_test.go' | awk '{print $2}' | sort -u)

for doc in "${docs[@]}"; do
  [[ -f "${doc}" ]] || continue
  while IFS= read -r word; do
    case "${word}" in
      *'<'*|*'*'*|*'{'*|*'$'*) continue ;;
      cmd/*|pkg/*|test/*|hack/*|docs/*|artifacts/*)
        path=${word%%:*}
        [[ -e "${path}" ]] && continue
        # pkg/standalone.Ensure: a Go identifier of a package.
        dir=${path%.*} ident=${path##*.}
        if [[ "${dir}" != "${path}" && -d "${dir}" && "${ident}" =~ ^[A-Z][A-Za-z0-9_]*$ ]]; then
          if grep -qE "^(func( \([^)]*\))? ${ident}\b|type ${ident}\b|var ${ident}\b|const ${ident}\b|[[:space:]]${ident} +=)" "${dir}"/*.go; then
            continue
          fi
          echo "${doc}: names ${ident}, which package ${dir} does not declare" >&2
        else
          echo "${doc}: names ${path}, which does not exist" >&2
        fi
        status=1
        ;;
      Test[A-Z]*|Benchmark[A-Z]*|Fuzz[A-Z]*)
        name=${word%%/*}
        name=${name%%(*}
        if ! grep -qx "${name}" <<<"${tests}"; then
          echo "${doc}: names ${name}, which no _test.go file declares" >&2
          status=1
        fi
        ;;
    esac
  done < <(spans "${doc}")
done
[[ ${status} -eq 0 ]] && echo "Every file and test the docs name exists."
exit ${status}
