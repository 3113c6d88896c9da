#!/bin/sh
# Regenerates the committed test PKI used by tests/c/test_ws.c (wss cases):
#   ca.pem             a throwaway test CA (its key is not kept)
#   server.pem/.key    a server cert for DNS:localhost only, signed by the CA
#                      (so wss://127.0.0.1 is a host-name mismatch on purpose)
#   other-ca.pem       an unrelated CA, for "untrusted issuer" checks
# Valid for 100 years; EC P-256 keeps the files small. Needs the openssl CLI.
set -eu
cd "$(dirname "$0")"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
days=36500
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$t/ca.key" -out ca.pem -days $days -subj "/CN=oktell-lua test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout server.key -out "$t/server.csr" -subj "/CN=localhost"
printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$t/ext"
openssl x509 -req -in "$t/server.csr" -CA ca.pem -CAkey "$t/ca.key" -CAcreateserial \
    -CAserial "$t/ca.srl" -out server.pem -days $days -extfile "$t/ext"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$t/other.key" -out other-ca.pem -days $days -subj "/CN=unrelated CA"
