"""TLS for the tests: a CA and certificates made at test time (python3's
cryptography, Debian's python3-cryptography), and peers that speak the
text and binary protocols over TLS (python's ssl module)."""

import datetime
import ipaddress
import socket
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import TIMEOUT, Peer
from wire import MAGIC, BinaryPeer

NOW = datetime.datetime.now(datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path, key, cert):
    path.with_suffix(".key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    path.with_suffix(".pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path.with_suffix(".pem"), path.with_suffix(".key")


class CA:
    """A certificate authority of the test's own."""

    def __init__(self, directory, name="chatroom test CA"):
        self.dir = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cert = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(NOW - DAY).not_valid_after(NOW + 30 * DAY)
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                                  False, False), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.path = directory / f"{name.replace(' ', '_')}.pem"
        self.path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, stem, names=("localhost", "127.0.0.1"), before=-1, after=30, key=None):
        """A server certificate for `names`, valid from `before` to `after`
        days from now; returns (cert path, key path)."""
        key = key or ec.generate_private_key(ec.SECP256R1())
        sans = []
        for n in names:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(n)))
            except ValueError:
                sans.append(x509.DNSName(n))
        cert = (x509.CertificateBuilder().subject_name(_name(names[0])).issuer_name(self.cert.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(NOW + before * DAY).not_valid_after(NOW + after * DAY)
                .add_extension(x509.SubjectAlternativeName(sans), critical=False)
                .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                               critical=False)
                .sign(self.key, hashes.SHA256()))
        return _write(self.dir / stem, key, cert)


def self_signed(directory, stem, names=("localhost", "127.0.0.1"), key=None):
    """A self-signed server certificate: (cert path, key path)."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    sans = []
    for n in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            sans.append(x509.DNSName(n))
    cert = (x509.CertificateBuilder().subject_name(_name(names[0])).issuer_name(_name(names[0]))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - DAY).not_valid_after(NOW + 30 * DAY)
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .sign(key, hashes.SHA256()))
    return _write(directory / stem, key, cert)


def fingerprint_of(cert_pem):
    """SHA256:<base64, no padding> of the certificate's public key (its
    SubjectPublicKeyInfo), as ssh and the client show it."""
    import base64
    cert = x509.load_pem_x509_certificate(cert_pem.read_bytes())
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(spki)
    return "SHA256:" + base64.b64encode(digest.finalize()).decode().rstrip("=")


def client_context(ca_path=None, maximum=None):
    ctx = ssl.create_default_context(cafile=str(ca_path)) if ca_path else \
        ssl.create_default_context()
    if ca_path is None:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if maximum is not None:
        ctx.maximum_version = maximum
    return ctx


def tls_socket(port, ca_path=None, host="localhost", maximum=None):
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    return client_context(ca_path, maximum).wrap_socket(raw, server_hostname=host)


class TlsPeer(Peer):
    """A text-protocol peer over TLS."""

    def __init__(self, port, ca_path=None, maximum=None):
        self.sock = tls_socket(port, ca_path, maximum=maximum)
        self.addr = "%s:%d" % self.sock.getsockname()
        self.buf = b""
        self.name = None


class TlsBinaryPeer(BinaryPeer):
    """A binary-protocol peer over TLS."""

    def __init__(self, port, ca_path=None, timeout=TIMEOUT):
        self.sock = tls_socket(port, ca_path)
        self.timeout = timeout
        self.buf = b""
        self.sock.sendall(MAGIC)


def peer_fingerprint(port):
    """The fingerprint of the certificate the TLS port shows now."""
    import base64
    import hashlib
    s = tls_socket(port)
    der = s.getpeercert(binary_form=True)
    s.close()
    cert = x509.load_der_x509_certificate(der)
    spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    return "SHA256:" + base64.b64encode(hashlib.sha256(spki).digest()).decode().rstrip("=")
