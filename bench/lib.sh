# Sourced by the bench scripts.

# release_binary PRODUCT EXISTING [build flags...]: prints the path of a release build of PRODUCT. When
# EXISTING is set it is that path, unchanged (to compare two builds with the same script); otherwise the
# product is built from KLAXON_PACKAGE_DIR (default: this repository) into KLAXON_SCRATCH_PATH (default:
# SwiftPM's), with the build's last line on stderr.
release_binary() {
  local product="$1" existing="$2"
  shift 2
  if [ -n "$existing" ]; then
    echo "$existing"
    return
  fi
  local package="${KLAXON_PACKAGE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
  local build=(swift build -c release --package-path "$package" "$@")
  [ -n "${KLAXON_SCRATCH_PATH:-}" ] && build+=(--scratch-path "$KLAXON_SCRATCH_PATH")
  echo "== building $product (release) in $package" >&2
  "${build[@]}" --product "$product" 2>&1 | tail -1 >&2
  echo "$("${build[@]}" --show-bin-path)/$product"
}

# describe_machine DIR: what the figures were measured on (CPU, memory, load, and the disk under DIR).
describe_machine() {
  echo "machine: $(uname -srm), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB RAM, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "disk:    $(df -hT "$1" | awk 'NR==2 {print $2 " on " $1}')"
  echo
}
