"""chatroom-bench --tls (issue 20): it measures over the server's TLS port,
verifying the certificate against --ca (name or IP) or the --tls-pin key,
and refuses a server it cannot verify."""

from test_bench import bench
from tlsfix import CA, fingerprint_of


def test_bench_over_tls_verified_by_ca_or_pin(start_server, tmp_path):
    ca = CA(tmp_path)
    cert, key = ca.issue("server")
    srv = start_server("--tls-cert", str(cert), "--tls-key", str(key), "--tls-port", "0",
                       "--flood-rate", "0")
    tls_port = int(srv.wait_log(r"listening for TLS on 127\.0\.0\.1:(\d+)").group(1))
    code, fields, out = bench("throughput", "-p", tls_port, "--tls", "--ca", ca.path,
                              "-n", 20, "-s", 2, "-d", 1, "-P", srv.proc.pid)
    assert code == 0, out
    assert int(fields["received"]) > 0 and fields["lost"] == "0", out
    assert float(fields["cpu_ns_per_delivery"]) > 0, out
    code, fields, out = bench("throughput", "-p", tls_port, "--tls", "--tls-pin",
                              fingerprint_of(cert), "-n", 5, "-s", 1, "-d", 1)
    assert code == 0 and fields["lost"] == "0", out
    # Unverifiable: no CA given (the system's do not know it), a wrong pin.
    code, _, out = bench("throughput", "-p", tls_port, "--tls", "-n", 5, "-s", 1, "-d", 1)
    assert code == 1 and "TLS handshake: unable to get local issuer certificate" in out, out
    code, _, out = bench("throughput", "-p", tls_port, "--tls", "--tls-pin", "SHA256:AAAA",
                         "-n", 5, "-s", 1, "-d", 1)
    assert code == 1 and "not the pinned SHA256:AAAA" in out, out
