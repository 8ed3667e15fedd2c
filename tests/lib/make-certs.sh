#!/bin/sh
# SPDX-License-Identifier: MIT
# Makes the certificates of an API test in DIR with certtool (gnutls-bin): a CA
# (ca.pem/ca.key), a server certificate for localhost and 127.0.0.1 (server.pem/.key),
# client certificates signed by the CA with CN admin1 (admin.pem/.key) and reader1
# (reader.pem/.key), and a self-signed client certificate the CA never signed
# (rogue.pem/.key). Valid for two days. Usage: make-certs.sh DIR
set -eu
dir=$1
command -v certtool >/dev/null || { echo "make-certs.sh: certtool missing (apt-get install gnutls-bin)" >&2; exit 1; }
cd "$dir"
q() { certtool "$@" >/dev/null 2>&1 || { echo "make-certs.sh: certtool $* failed" >&2; exit 1; }; }
printf 'cn = vmpilot test CA\nca\ncert_signing_key\nexpiration_days = 2\n' > ca.tmpl
printf 'cn = localhost\ndns_name = localhost\nip_address = 127.0.0.1\ntls_www_server\nsigning_key\nencryption_key\nexpiration_days = 2\n' > server.tmpl
printf 'cn = admin1\ntls_www_client\nsigning_key\nexpiration_days = 2\n' > admin.tmpl
printf 'cn = reader1\ntls_www_client\nsigning_key\nexpiration_days = 2\n' > reader.tmpl
printf 'cn = admin1\ntls_www_client\nsigning_key\nexpiration_days = 2\n' > rogue.tmpl
for k in ca server admin reader rogue; do
	q --generate-privkey --key-type ecdsa --outfile $k.key
done
q --generate-self-signed --load-privkey ca.key --template ca.tmpl --outfile ca.pem
for k in server admin reader; do
	q --generate-certificate --load-privkey $k.key --load-ca-certificate ca.pem \
		--load-ca-privkey ca.key --template $k.tmpl --outfile $k.pem
done
q --generate-self-signed --load-privkey rogue.key --template rogue.tmpl --outfile rogue.pem
chmod 600 ./*.key
