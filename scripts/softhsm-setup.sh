#!/bin/sh
# SoftHSM2 helper for the PKCS#11 code in sign/pkcs11.
#
# The tests do not need this script: sign/pkcs11 makes its own tokens in a temporary directory (SOFTHSM2_CONF
# pointing at a config written there). This script is for CI preflight and for trying the CLI by hand.
#
#   scripts/softhsm-setup.sh [check]
#       Checks that SoftHSM2 works: finds libsofthsm2.so, initializes a throwaway token in a temporary
#       directory, lists it, removes it. Prints the module path. Exit 0 when usable.
#
#   scripts/softhsm-setup.sh create DIR [LABEL]
#       Creates a persistent token directory DIR with a softhsm2.conf and an empty token LABEL (default
#       "ehcert-test"), user PIN from $SOFTHSM_PIN (default 1234), SO PIN from $SOFTHSM_SO_PIN (default
#       12345678), and prints the environment to use it. Add keys with pkcs11-tool (OpenSC), e.g.
#         pkcs11-tool --module "$MODULE" --login --pin 1234 --keypairgen --key-type EC:secp384r1 \
#           --label Signature --id 03 --always-auth
#
# SOFTHSM2_MODULE overrides the module search. Test PINs only: never use this for real keys.
set -eu

find_module() {
  if [ -n "${SOFTHSM2_MODULE:-}" ]; then echo "$SOFTHSM2_MODULE"; return 0; fi
  for p in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
           /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so /usr/lib64/softhsm/libsofthsm2.so \
           /usr/lib64/pkcs11/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so \
           /opt/homebrew/lib/softhsm/libsofthsm2.so; do
    if [ -f "$p" ]; then echo "$p"; return 0; fi
  done
  return 1
}

make_conf() { # DIR
  mkdir -p "$1/tokens"
  chmod 700 "$1" "$1/tokens"
  printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$1" >"$1/softhsm2.conf"
}

command -v softhsm2-util >/dev/null 2>&1 || { echo "softhsm-setup: softhsm2-util not found (apt-get install softhsm2)" >&2; exit 1; }
module=$(find_module) || { echo "softhsm-setup: libsofthsm2.so not found (set SOFTHSM2_MODULE)" >&2; exit 1; }
pin=${SOFTHSM_PIN:-1234}
so_pin=${SOFTHSM_SO_PIN:-12345678}

case "${1:-check}" in
check)
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/ehcert-softhsm.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT INT TERM
  make_conf "$tmp"
  SOFTHSM2_CONF="$tmp/softhsm2.conf"; export SOFTHSM2_CONF
  softhsm2-util --init-token --free --label ehcert-check --so-pin "$so_pin" --pin "$pin" >/dev/null
  softhsm2-util --show-slots | grep -q 'Label:[[:space:]]*ehcert-check' || { echo "softhsm-setup: token not listed" >&2; exit 1; }
  echo "softhsm-setup: ok, module $module"
  ;;
create)
  dir=${2:?usage: softhsm-setup.sh create DIR [LABEL]}
  label=${3:-ehcert-test}
  make_conf "$dir"
  dir=$(cd "$dir" && pwd)
  SOFTHSM2_CONF="$dir/softhsm2.conf"; export SOFTHSM2_CONF
  softhsm2-util --init-token --free --label "$label" --so-pin "$so_pin" --pin "$pin" >/dev/null
  echo "export SOFTHSM2_CONF=$dir/softhsm2.conf"
  echo "MODULE=$module   # token \"$label\", user PIN from SOFTHSM_PIN (default 1234)"
  ;;
*)
  echo "usage: softhsm-setup.sh [check | create DIR [LABEL]]" >&2
  exit 2
  ;;
esac
