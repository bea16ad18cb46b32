#!/usr/bin/env bash
# A site PKI made the way sites make one, with the openssl command line: an RSA root CA, an ECDSA
# intermediate CA that signs the node certificates, and a CA file that is the bundle of both.
# Node keys alternate between RSA and ECDSA. Every node certificate is for serverAuth and
# clientAuth (routes are mutual TLS) with the given subject alternative names.
#
#   make_site_pki.sh DIR NODE=SAN[,SAN...] ...     e.g. nats-1=DNS:nats-1,IP:10.0.1.11
#
# Writes DIR/ca.crt (intermediate + root), DIR/root.crt, DIR/<node>.crt and DIR/<node>.key (0600).
# Existing files are kept, so a second run changes nothing.
set -euo pipefail
dir=$1; shift
mkdir -p "$dir"
chmod 0700 "$dir"
cd "$dir"
days=${SITE_PKI_DAYS:-825}
# The CAs' names: a site rotating its CA names the new one differently.
ca_name=${SITE_PKI_CA_NAME:-Example Site}

if [ ! -f root.key ]; then
  openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out root.key
  openssl req -x509 -new -key root.key -sha256 -days 3650 -subj "/O=Example Site/CN=$ca_name Root CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out root.crt
fi
if [ ! -f intermediate.key ]; then
  openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out intermediate.key
  openssl req -new -key intermediate.key -subj "/O=Example Site/CN=$ca_name NATS Issuing CA" -out intermediate.csr
  printf '%s\n' "basicConstraints=critical,CA:TRUE,pathlen:0" "keyUsage=critical,keyCertSign,cRLSign" \
    "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" >intermediate.ext
  openssl x509 -req -in intermediate.csr -CA root.crt -CAkey root.key -CAcreateserial -sha256 -days 1825 \
    -extfile intermediate.ext -out intermediate.crt 2>/dev/null
fi
cat intermediate.crt root.crt >ca.crt

index=0
for spec in "$@"; do
  node=${spec%%=*}
  sans=${spec#*=}
  index=$((index + 1))
  if [ ! -f "$node.key" ]; then
    if [ $((index % 2)) = 1 ]; then
      openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$node.key"
    else
      openssl genpkey -quiet -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$node.key"
    fi
    chmod 0600 "$node.key"
  fi
  if [ ! -f "$node.crt" ]; then
    openssl req -new -key "$node.key" -subj "/O=Example Site/CN=$node" -out "$node.csr"
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=$sans" "authorityKeyIdentifier=keyid" >"$node.ext"
    openssl x509 -req -in "$node.csr" -CA intermediate.crt -CAkey intermediate.key -CAcreateserial -sha256 \
      -days "$days" -extfile "$node.ext" -out "$node.crt" 2>/dev/null
  fi
done
