#!/usr/bin/env python3
"""Integration tests of `coromqtt pub` and `coromqtt sub` (and of `coromqtt bench`, group bench).

Each run starts its own mosquitto on free loopback ports (plain, password-protected, Unix socket, WebSocket and TLS
listeners, from a generated configuration and certificates made with openssl), runs the tool against it and against
the peers people use beside it (mosquitto_pub, mosquitto_sub, MQTT.js), checks outputs, payload bytes and exit
codes, and stops every process it started, whatever happens.

Usage: cli_test.py --tool build/tools/coromqtt --group pub-sub|options|transports|mqttjs|bench
                   [--mosquitto /usr/sbin/mosquitto] [--node-modules test/node/node_modules] [-k NAME]

Prints one line per test and "N passed, N failed" at the end; exits 0 when all passed, 1 otherwise, and 77 (the
"skipped" status meson understands) when the group cannot run here (MQTT.js not installed).

Readiness is waited for, never slept for: `coromqtt sub` is started with -d and the test waits for the line that
says its SUBACK arrived; mosquitto_sub is given a retained marker on a topic of its own and the test waits until it
prints it (see Context.start_mosquitto_sub). Only then is anything published.
"""

import argparse
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

SKIPPED = 77
READY_TIMEOUT = 10.0   # seconds to wait for a process to get ready
RUN_TIMEOUT = 20.0     # seconds any one process may run


class TestFailure(Exception):
    pass


class Skip(Exception):
    pass


def check(condition, message):
    if not condition:
        raise TestFailure(message)


def check_equal(actual, expected, what):
    if actual != expected:
        raise TestFailure(f"{what}: expected {expected!r}, got {actual!r}")


# --- Processes ------------------------------------------------------------------------------------------------------

_started = []  # every process started, so that none outlives the run


class Process:
    """A child process whose stdout and stderr are collected by threads (so that pipes never fill up)."""

    def __init__(self, args, stdin_data=None, env=None, open_stdin=False):
        """stdin_data: bytes written to stdin, which is then closed; open_stdin: a pipe left open for write_stdin."""
        self.args = [str(a) for a in args]
        piped = stdin_data is not None or open_stdin
        self.proc = subprocess.Popen(self.args, stdin=subprocess.PIPE if piped else subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                     start_new_session=True)
        _started.append(self.proc)
        self._out = bytearray()
        self._err = bytearray()
        self._changed = threading.Condition()
        self._readers = [threading.Thread(target=self._pump, args=(self.proc.stdout, self._out), daemon=True),
                         threading.Thread(target=self._pump, args=(self.proc.stderr, self._err), daemon=True)]
        for r in self._readers:
            r.start()
        if stdin_data is not None:
            threading.Thread(target=self._feed, args=(stdin_data,), daemon=True).start()

    def write_stdin(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def close_stdin(self):
        self.proc.stdin.close()

    def _feed(self, data):
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.close()
        except (BrokenPipeError, ValueError):
            pass

    def _pump(self, stream, buffer):
        while True:
            chunk = stream.read1(65536)
            with self._changed:
                if not chunk:
                    self._changed.notify_all()
                    return
                buffer.extend(chunk)
                self._changed.notify_all()

    @property
    def stdout(self):
        with self._changed:
            return bytes(self._out)

    @property
    def stderr_text(self):
        with self._changed:
            return self._err.decode(errors="replace")

    def wait_for_stderr(self, pattern, timeout=READY_TIMEOUT):
        """Waits until stderr matches `pattern` (a regular expression); fails if the process ends first."""
        regex = re.compile(pattern)
        self._wait_until(lambda: regex.search(self._err.decode(errors="replace")), f"/{pattern}/ on stderr", timeout)

    def wait_for_stdout(self, data, timeout=READY_TIMEOUT):
        """Waits until stdout contains any of the byte strings in `data`."""
        self._wait_until(lambda: any(d in self._out for d in data), f"{data!r} on stdout", timeout)

    def _wait_until(self, condition, what, timeout):
        deadline = time.monotonic() + timeout
        with self._changed:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TestFailure(f"{self.args[0]} never printed {what}; stderr: {tail(self._err)!r}")
                if self.proc.poll() is not None and all(not r.is_alive() for r in self._readers):
                    raise TestFailure(f"{self.args[0]} ended (status {self.proc.returncode}) before printing {what}; "
                                      f"stderr: {tail(self._err)!r}")
                self._changed.wait(min(remaining, 0.1))

    def wait(self, timeout=RUN_TIMEOUT):
        """Waits for the process to end and returns its exit status; kills it and fails after `timeout`."""
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise TestFailure(f"{' '.join(self.args)} did not end within {timeout} s; stderr: {tail(self._err)!r}")
        for r in self._readers:
            r.join(5)
        return status

    def signal(self, number):
        if self.proc.poll() is None:
            self.proc.send_signal(number)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def tail(data, size=2000):
    """The end of a long output, for failure messages."""
    text = bytes(data).decode(errors="replace")
    return text if len(text) <= size else "..." + text[-size:]


def stop_everything():
    for proc in _started:
        if proc.poll() is None:
            try:
                proc.terminate()
                proc.wait(2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            except OSError:
                pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


# --- The broker -----------------------------------------------------------------------------------------------------

class Broker:
    """mosquitto with every listener the tests need, on free ports, in its own temporary directory."""

    USER = "alice"
    PASSWORD = "s3cret:with@odd/chars"

    def __init__(self, mosquitto, workdir, tls):
        self.workdir = workdir
        self.plain = free_port()
        self.secured = free_port()
        self.websocket = free_port()
        self.tls = free_port() if tls else None
        self.mutual_tls = free_port() if tls else None
        self.unix_socket = os.path.join(workdir, "sockets", "mosquitto.sock")
        os.makedirs(os.path.dirname(self.unix_socket))
        # mosquitto started as root drops to its own user: it must be able to read and create what it needs here.
        os.chmod(workdir, 0o755)
        os.chmod(os.path.dirname(self.unix_socket), 0o777)

        password_file = os.path.join(workdir, "passwords")
        subprocess.run(["mosquitto_passwd", "-c", "-b", password_file, self.USER, self.PASSWORD], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.chmod(password_file, 0o644)

        lines = [
            "per_listener_settings true",
            "set_tcp_nodelay true",
            "persistence false",
            # By default mosquitto drops QoS 1/2 messages beyond 1000 queued for a subscriber; the pub tests publish
            # faster than a QoS 2 subscriber can take them, and must not lose any. (0 would mean no queue at all.)
            "max_queued_messages 1000000",
            f"listener {self.plain} 127.0.0.1", "allow_anonymous true",
            f"listener {self.secured} 127.0.0.1", "allow_anonymous false", f"password_file {password_file}",
            f"listener 0 {self.unix_socket}", "allow_anonymous true",
            f"listener {self.websocket} 127.0.0.1", "protocol websockets", "allow_anonymous true",
        ]
        if tls:
            self.certificates = make_certificates(workdir)
            c = self.certificates
            lines += [f"listener {self.tls} 127.0.0.1", "allow_anonymous true",
                      f"cafile {c['ca']}", f"certfile {c['server_cert']}", f"keyfile {c['server_key']}"]
            lines += [f"listener {self.mutual_tls} 127.0.0.1", "allow_anonymous true",
                      f"cafile {c['ca']}", f"certfile {c['server_cert']}", f"keyfile {c['server_key']}",
                      "require_certificate true"]
        config = os.path.join(workdir, "mosquitto.conf")
        with open(config, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(config, 0o644)
        self.mosquitto = mosquitto
        self.config = config
        self.ports = [self.plain, self.secured, self.websocket] + ([self.tls, self.mutual_tls] if tls else [])
        self.start()

    def start(self):
        """Starts mosquitto (again, after stop(): same ports, no state kept) and waits until it listens."""
        if os.path.exists(self.unix_socket):
            os.unlink(self.unix_socket)
        self.process = Process([self.mosquitto, "-c", self.config])
        deadline = time.monotonic() + READY_TIMEOUT
        while not (all(port_open(p) for p in self.ports) and os.path.exists(self.unix_socket)):
            if self.process.proc.poll() is not None:
                raise RuntimeError(f"mosquitto did not start: {self.process.stderr_text}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto is not listening after {READY_TIMEOUT} s: {self.process.stderr_text}")
            time.sleep(0.02)  # polling a port: there is nothing to wait on

    def stop(self):
        self.process.kill()


def make_certificates(workdir):
    """A throw-away CA, a server certificate for localhost / 127.0.0.1 and a client certificate, made now."""
    d = os.path.join(workdir, "certs")
    os.makedirs(d)
    p = lambda name: os.path.join(d, name)

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", p("ca.key"), "-out", p("ca.crt"), "-days", "2",
            "-subj", "/CN=coromqtt test CA")
    with open(p("server.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("req", *ec, "-keyout", p("server.key"), "-out", p("server.csr"), "-subj", "/CN=localhost")
    openssl("x509", "-req", "-in", p("server.csr"), "-CA", p("ca.crt"), "-CAkey", p("ca.key"), "-CAcreateserial",
            "-out", p("server.crt"), "-days", "2", "-extfile", p("server.ext"))
    openssl("req", *ec, "-keyout", p("client.key"), "-out", p("client.csr"), "-subj", "/CN=coromqtt test client")
    openssl("x509", "-req", "-in", p("client.csr"), "-CA", p("ca.crt"), "-CAkey", p("ca.key"), "-CAcreateserial",
            "-out", p("client.crt"), "-days", "2")
    # An unrelated CA, to check that verification really happens.
    openssl("req", "-x509", *ec, "-keyout", p("other-ca.key"), "-out", p("other-ca.crt"), "-days", "2",
            "-subj", "/CN=some other CA")
    for name in os.listdir(d):
        os.chmod(p(name), 0o644)
    return {"ca": p("ca.crt"), "server_cert": p("server.crt"), "server_key": p("server.key"),
            "client_cert": p("client.crt"), "client_key": p("client.key"), "other_ca": p("other-ca.crt")}


# --- The tests' vocabulary ------------------------------------------------------------------------------------------

class Context:
    def __init__(self, args, broker, test_name):
        self.tool = args.tool
        self.broker = broker
        self.node_modules = args.node_modules
        self.test_name = test_name
        self.port = broker.plain
        self.markers = 0

    def topic(self, suffix=""):
        """A topic no other test uses."""
        return f"cli-test/{self.test_name}" + (f"/{suffix}" if suffix else "")

    # coromqtt
    def pub(self, *args, stdin=None, port=None, timeout=RUN_TIMEOUT):
        """Runs `coromqtt pub` to completion; returns (status, stdout, stderr)."""
        p = Process([self.tool, "pub", "-p", port or self.port, *args], stdin_data=stdin)
        status = p.wait(timeout)
        return status, p.stdout, p.stderr_text

    def pub_ok(self, *args, **kw):
        status, out, err = self.pub(*args, **kw)
        check(status == 0, f"coromqtt pub {' '.join(map(str, args))} exited with {status}: {err!r}")
        return out

    def start_sub(self, *args, port=None, ready=True):
        """Starts `coromqtt sub` (with -d) and, unless ready=False, waits until its subscriptions are granted."""
        p = Process([self.tool, "sub", "-p", port or self.port, "-d", *args])
        if ready:
            p.wait_for_stderr(r"subscribed to ")
        return p

    def start_tool(self, *args, ready=r"subscribed to "):
        """Starts `coromqtt ARGS` (give -d) and waits for `ready` on its stderr."""
        p = Process([self.tool, *args])
        p.wait_for_stderr(ready)
        return p

    def run_tool(self, *args, stdin=None):
        p = Process([self.tool, *args], stdin_data=stdin)
        status = p.wait()
        return status, p.stdout, p.stderr_text

    # mosquitto's clients
    def mosquitto_pub(self, *args, stdin=None):
        p = Process(["mosquitto_pub", "-p", self.port, *args], stdin_data=stdin)
        status = p.wait()
        check(status == 0, f"mosquitto_pub {' '.join(map(str, args))} exited with {status}: {p.stderr_text!r}")

    def start_mosquitto_sub(self, *args, count):
        """Starts mosquitto_sub for `count` messages and waits until its subscriptions stand.

        mosquitto_sub says nothing on stderr when it is subscribed (its -d goes to stdout, among the messages). So a
        retained marker is published first on a topic of its own, which it also subscribes to: the broker sends it
        right after the SUBACK, and once it is printed, the subscriptions stand. marked_output() cuts it out.
        """
        self.markers += 1
        marker = f"ready-{os.getpid()}-{self.markers}"
        ready_topic = f"cli-test-ready/{self.test_name}/{self.markers}"
        # It expires on its own: clearing it would send the subscriber one more message.
        self.mosquitto_pub("-V", "5", "-D", "publish", "message-expiry-interval", "30", "-r", "-q", "1",
                           "-t", ready_topic, "-m", marker)
        p = Process(["mosquitto_sub", "-p", self.port, "-t", ready_topic, *args, "-C", str(count + 1)])
        p.marker = marker.encode()
        p.wait_for_stdout([p.marker, p.marker.hex().encode()])
        return p


def marked_output(process, what):
    """What a mosquitto_sub started by start_mosquitto_sub printed after its readiness marker."""
    out = finished(process, what)
    for marker in (process.marker, process.marker.hex().encode()):
        at = out.find(marker)
        if at >= 0:
            end = at + len(marker)
            return out[end + 1:] if out[end:end + 1] == b"\n" else out[end:]
    raise TestFailure(f"{what}: the readiness marker is missing from {out[:200]!r}")


def finished(process, what, expected_status=0):
    """Waits for `process` and checks its exit status; returns its stdout."""
    status = process.wait()
    check(status == expected_status,
          f"{what} exited with {status}, expected {expected_status}; stderr: {process.stderr_text[-2000:]!r}")
    return process.stdout


def one_error_line(stderr, what):
    lines = [l for l in stderr.splitlines() if l.strip()]
    check(len(lines) == 1, f"{what}: expected one line on stderr, got {lines!r}")
    return lines[0]


TESTS = []


def test(group):
    def register(function):
        TESTS.append((group, function.__name__, function))
        return function
    return register


# --- Group pub-sub: interoperability with mosquitto's clients, both protocol versions, every QoS ---------------------

@test("pub-sub")
def pub_reaches_mosquitto_sub_in_both_versions_and_every_qos(ctx):
    sub = ctx.start_mosquitto_sub("-V", "5", "-q", "2", "-t", ctx.topic("#"), "-F", "%t %q %p", count=6)
    expected = []
    for version in ("311", "5"):
        for qos in ("0", "1", "2"):
            topic = ctx.topic(f"v{version}/q{qos}")
            ctx.pub_ok("-V", version, "-q", qos, "-t", topic, "-m", f"hello {version} {qos}")
            expected.append(f"{topic} {qos} hello {version} {qos}")
    out = marked_output(sub, "mosquitto_sub").decode()
    check_equal(sorted(out.splitlines()), sorted(expected), "mosquitto_sub's output")


@test("pub-sub")
def sub_receives_from_mosquitto_pub_in_both_versions_and_every_qos(ctx):
    for version in ("311", "5"):
        sub = ctx.start_sub("-V", version, "-q", "2", "-t", ctx.topic(f"v{version}/#"), "-F", "%t %q %p", "-C", "3")
        expected = []
        for qos in ("0", "1", "2"):
            topic = ctx.topic(f"v{version}/q{qos}")
            ctx.mosquitto_pub("-q", qos, "-t", topic, "-m", f"from mosquitto {qos}")
            expected.append(f"{topic} {qos} from mosquitto {qos}")
        out = finished(sub, f"coromqtt sub -V {version}").decode()
        check_equal(out.splitlines(), expected, f"coromqtt sub -V {version} output")


@test("pub-sub")
def qos2_round_trip_between_the_two_commands(ctx):
    sub = ctx.start_sub("-V", "5", "-q", "2", "-t", ctx.topic(), "-F", "%q|%r|%p", "-C", "1")
    ctx.pub_ok("-V", "5", "-q", "2", "-t", ctx.topic(), "-m", "exactly once")
    check_equal(finished(sub, "coromqtt sub"), b"2|0|exactly once\n", "output")


def file_arrives_byte_for_byte_both_ways(ctx, data):
    path = os.path.join(ctx.workdir, f"payload-{len(data)}.bin")
    with open(path, "wb") as f:
        f.write(data)
    # coromqtt pub -f -> mosquitto_sub
    sub = ctx.start_mosquitto_sub("-t", ctx.topic("to-mosquitto"), "-N", count=1)
    ctx.pub_ok("-q", "1", "-t", ctx.topic("to-mosquitto"), "-f", path)
    received = marked_output(sub, "mosquitto_sub")
    check(received == data, f"mosquitto_sub received {len(received)} bytes that differ from the {len(data)} sent")
    # mosquitto_pub -f -> coromqtt sub (-W: a message that never comes fails the test in seconds)
    sub = ctx.start_sub("-t", ctx.topic("from-mosquitto"), "-C", "1", "-N", "-W", "5")
    ctx.mosquitto_pub("-q", "1", "-t", ctx.topic("from-mosquitto"), "-f", path)
    received = finished(sub, "coromqtt sub")
    check(received == data, f"coromqtt sub printed {len(received)} bytes that differ from the {len(data)} sent")


@test("pub-sub")
def binary_file_arrives_byte_for_byte_both_ways(ctx):
    # Every byte value, NUL and newlines included.
    file_arrives_byte_for_byte_both_ways(ctx, bytes(range(256)) * 3 + b"\x00\n\r\xff")


@test("pub-sub")
def large_binary_file_arrives_byte_for_byte_both_ways(ctx):
    file_arrives_byte_for_byte_both_ways(ctx, random.Random(7).randbytes(200_000) + b"\x00\n\r\xff")


@test("pub-sub")
def stdin_as_one_message_keeps_every_byte(ctx):
    data = b"line one\nline two\n\x00binary\xfe\n"
    sub = ctx.start_mosquitto_sub("-t", ctx.topic(), "-N", count=1)
    ctx.pub_ok("-t", ctx.topic(), "-s", stdin=data)
    check_equal(marked_output(sub, "mosquitto_sub"), data, "payload")


@test("pub-sub")
def null_message_is_zero_length(ctx):
    sub = ctx.start_mosquitto_sub("-t", ctx.topic(), "-F", "%l:%p", count=1)
    ctx.pub_ok("-t", ctx.topic(), "-n")
    check_equal(marked_output(sub, "mosquitto_sub"), b"0:\n", "mosquitto_sub's output")


@test("pub-sub")
def stdin_lines_become_messages_as_mosquitto_pub_makes_them(ctx):
    # Empty lines are empty messages, '\r' stays, a last line without '\n' counts.
    lines = b"one\n\ntwo\r\nthree"
    expected = [b"one", b"", b"two\r", b"three"]
    for tool in ("coromqtt", "mosquitto"):
        sub = ctx.start_mosquitto_sub("-t", ctx.topic(tool), "-F", "%x", count=4)
        if tool == "coromqtt":
            ctx.pub_ok("-q", "1", "-t", ctx.topic(tool), "-l", stdin=lines)
        else:
            ctx.mosquitto_pub("-q", "1", "-t", ctx.topic(tool), "-l", stdin=lines)
        out = marked_output(sub, "mosquitto_sub").decode().splitlines()
        check_equal([bytes.fromhex(h) for h in out], expected, f"messages from {tool} pub -l")


@test("pub-sub")
def many_lines_arrive_complete_and_in_order(ctx):
    count = 5000
    lines = "".join(f"message {i}\n" for i in range(count)).encode()
    for qos in ("0", "1", "2"):
        sub = ctx.start_sub("-q", qos, "-t", ctx.topic(f"q{qos}"), "-C", str(count))
        ctx.pub_ok("-q", qos, "-t", ctx.topic(f"q{qos}"), "-l", stdin=lines)
        out = finished(sub, f"coromqtt sub -q {qos}")
        check(out == lines, f"QoS {qos}: {len(out.splitlines())} of {count} lines arrived, or out of order")


@test("pub-sub")
def repeat_publishes_the_message_again(ctx):
    sub = ctx.start_sub("-t", ctx.topic(), "-C", "3")
    ctx.pub_ok("-q", "1", "-t", ctx.topic(), "-m", "again", "--repeat", "3", "--repeat-delay", "0.05")
    check_equal(finished(sub, "coromqtt sub"), b"again\nagain\nagain\n", "output")


@test("pub-sub")
def retained_message_reaches_a_later_subscriber_and_R_hides_it(ctx):
    ctx.pub_ok("-r", "-q", "1", "-t", ctx.topic(), "-m", "stale")
    # A later subscriber gets it, flagged retained.
    sub = ctx.start_sub("-t", ctx.topic(), "-C", "1", "-F", "%r %p")
    check_equal(finished(sub, "coromqtt sub"), b"1 stale\n", "retained message")
    # mosquitto_sub sees the same.
    sub = ctx.start_mosquitto_sub("-t", ctx.topic(), "-F", "%r %p", count=1)
    check_equal(marked_output(sub, "mosquitto_sub"), b"1 stale\n", "retained message seen by mosquitto_sub")
    # -R: the retained one is not printed nor counted; a fresh one is.
    sub = ctx.start_sub("-R", "-t", ctx.topic(), "-C", "1", "-F", "%r %p")
    ctx.pub_ok("-t", ctx.topic(), "-m", "fresh")
    check_equal(finished(sub, "coromqtt sub -R"), b"0 fresh\n", "output of -R")
    ctx.pub_ok("-r", "-t", ctx.topic(), "-n")  # clears it


@test("pub-sub")
def retained_only_prints_the_retained_and_stops_at_the_first_fresh_message(ctx):
    ctx.pub_ok("-r", "-q", "1", "-t", ctx.topic("a"), "-m", "old a")
    ctx.pub_ok("-r", "-q", "1", "-t", ctx.topic("b"), "-m", "old b")
    sub = ctx.start_sub("--retained-only", "-v", "-t", ctx.topic("#"))
    ctx.pub_ok("-t", ctx.topic("c"), "-m", "fresh")
    out = finished(sub, "coromqtt sub --retained-only").decode()
    check_equal(sorted(out.splitlines()), [f"{ctx.topic('a')} old a", f"{ctx.topic('b')} old b"], "output")
    for t in ("a", "b"):
        ctx.pub_ok("-r", "-t", ctx.topic(t), "-n")


@test("pub-sub")
def remove_retained_clears_the_retained_messages_it_sees(ctx):
    for t in ("a", "b", "keep"):
        ctx.pub_ok("-r", "-q", "1", "-t", ctx.topic(t), "-m", f"retained {t}")
    # As in mosquitto_sub's manual: clear everything but one topic, and exit once the clearing echoes back.
    sub = ctx.start_sub("--remove-retained", "--retained-only", "-t", ctx.topic("#"), "-T", ctx.topic("keep"))
    finished(sub, "coromqtt sub --remove-retained")
    # What is retained now comes first to a new subscriber; then the marker, which is not retained.
    sub = ctx.start_mosquitto_sub("-t", ctx.topic("#"), "-F", "%t %r %p", count=2)
    ctx.pub_ok("-t", ctx.topic("marker"), "-m", "end")
    out = marked_output(sub, "mosquitto_sub").decode().splitlines()
    check_equal(out, [f"{ctx.topic('keep')} 1 retained keep", f"{ctx.topic('marker')} 0 end"], "what is left")
    ctx.pub_ok("-r", "-t", ctx.topic("keep"), "-n")


# --- Group options: exit codes, output formats, properties, sessions, credentials, signals -------------------------

@test("options")
def count_exits_after_the_count_with_status_0(ctx):
    sub = ctx.start_sub("-t", ctx.topic(), "-C", "2")
    for i in range(3):
        ctx.pub_ok("-t", ctx.topic(), "-m", str(i))
    check_equal(finished(sub, "coromqtt sub -C 2"), b"0\n1\n", "output")


@test("options")
def timeout_exits_with_status_27(ctx):
    sub = ctx.start_sub("-t", ctx.topic(), "-W", "0.3")
    out = finished(sub, "coromqtt sub -W", expected_status=27)
    check_equal(out, b"", "output")
    check("Timed out" in sub.stderr_text, f"no 'Timed out' on stderr: {sub.stderr_text!r}")
    # Messages before the timeout are printed; -W does not cut -C short.
    sub = ctx.start_sub("-t", ctx.topic(), "-W", "10", "-C", "1")
    ctx.pub_ok("-t", ctx.topic(), "-m", "in time")
    check_equal(finished(sub, "coromqtt sub -W 10 -C 1"), b"in time\n", "output")


@test("options")
def verbose_no_newline_and_formats(ctx):
    sub = ctx.start_sub("-v", "-t", ctx.topic(), "-C", "2")
    ctx.pub_ok("-t", ctx.topic(), "-m", "payload here")
    ctx.pub_ok("-t", ctx.topic(), "-n")
    check_equal(finished(sub, "-v"), f"{ctx.topic()} payload here\n{ctx.topic()} (null)\n".encode(), "-v output")

    sub = ctx.start_sub("-N", "-t", ctx.topic(), "-C", "2")
    ctx.pub_ok("-t", ctx.topic(), "-m", "ab")
    ctx.pub_ok("-t", ctx.topic(), "-m", "cd")
    check_equal(finished(sub, "-N"), b"abcd", "-N output")

    sub = ctx.start_sub("-q", "1", "-t", ctx.topic(), "-C", "1", "-F", r"%t\t%q\t%r\t%l\t%x\t%10.3t|%-4l|%04l")
    ctx.pub_ok("-q", "1", "-t", ctx.topic(), "-m", "xyz")
    expected = f"{ctx.topic()}\t1\t0\t3\t78797a\t       cli|3   |0003\n"
    check_equal(finished(sub, "-F").decode(), expected, "-F output")

    sub = ctx.start_sub("-t", ctx.topic(), "-C", "1", "-F", "%U %I %j")
    ctx.pub_ok("-t", ctx.topic(), "-m", 'say "hi"')
    out = finished(sub, "-F %U %I %j").decode()
    check(re.fullmatch(r'\d{10}\.\d{9} \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} \{"tst":"[^"]+","topic":"'
                       + re.escape(ctx.topic()) + r'","qos":0,"retain":0,"payloadlen":8,"payload":"say \\"hi\\""\}\n',
                       out), f"unexpected -F %U %I %j output: {out!r}")


@test("options")
def filter_out_hides_matching_topics(ctx):
    sub = ctx.start_sub("-v", "-t", ctx.topic("#"), "-T", ctx.topic("skip/#"), "-C", "1")
    ctx.pub_ok("-t", ctx.topic("skip/this"), "-m", "hidden")
    ctx.pub_ok("-t", ctx.topic("keep"), "-m", "shown")
    check_equal(finished(sub, "-T").decode(), f"{ctx.topic('keep')} shown\n", "output")


@test("options")
def publish_properties_reach_mosquitto_sub(ctx):
    sub = ctx.start_mosquitto_sub("-V", "5", "-t", ctx.topic(), "-F", "%C|%P|%E|%F|%R|%D|%p", count=1)
    ctx.pub_ok("-t", ctx.topic(), "-m", "with properties", "-D", "publish", "content-type", "text/plain",
               "-D", "publish", "user-property", "k1", "v1", "-D", "publish", "user-property", "k2", "v2",
               "-D", "publish", "message-expiry-interval", "600", "-D", "publish", "payload-format-indicator", "1",
               "-D", "publish", "response-topic", "replies/here", "-D", "publish", "correlation-data", "corr-42")
    out = marked_output(sub, "mosquitto_sub").decode()
    # The broker counts the expiry down: it may have spent a second.
    check(re.fullmatch(r"text/plain\|k1:v1 k2:v2\|(600|599)\|1\|replies/here\|corr-42\|with properties\n", out),
          f"mosquitto_sub printed {out!r}")


@test("options")
def sub_prints_the_properties_mosquitto_pub_sends(ctx):
    sub = ctx.start_sub("-V", "5", "-t", ctx.topic(), "-C", "1", "-F", "%C|%P|%E|%F|%R|%D|%S|%p",
                        "-D", "subscribe", "subscription-identifier", "42")
    ctx.mosquitto_pub("-V", "5", "-t", ctx.topic(), "-m", "props", "-D", "publish", "content-type", "app/x",
                      "-D", "publish", "user-property", "a", "b", "-D", "publish", "message-expiry-interval", "300",
                      "-D", "publish", "payload-format-indicator", "1", "-D", "publish", "response-topic", "r/t",
                      "-D", "publish", "correlation-data", "cd")
    out = finished(sub, "coromqtt sub").decode()
    check(re.fullmatch(r"app/x\|a:b\|(300|299)\|1\|r/t\|cd\|42\|props\n", out), f"coromqtt sub printed {out!r}")


@test("options")
def wrong_port_fails_with_one_line(ctx):
    closed = free_port()
    for command in ("pub", "sub"):
        args = ["-t", ctx.topic(), "-m", "x"] if command == "pub" else ["-t", ctx.topic()]
        started = time.monotonic()
        status, out, err = ctx.run_tool(command, "-p", str(closed), *args)
        check(status != 0, f"{command} to a closed port exited with 0")
        line = one_error_line(err, f"{command} to a closed port")
        check("Connection refused" in line and str(closed) in line, f"unhelpful error: {line!r}")
        check(time.monotonic() - started < 5, f"{command} took too long to give up")


@test("options")
def usage_errors_exit_1_with_a_hint(ctx):
    for command, args in (("pub", ["-t", "t", "-m", "x", "--bogus"]), ("sub", ["-t", "t", "--bogus"]),
                          ("pub", ["-t", "t"]), ("sub", ["-t", "t", "-q", "3"]), ("pub", ["-V", "31", "-t", "t", "-n"])):
        status, out, err = ctx.run_tool(command, *args)
        check_equal(status, 1, f"exit status of coromqtt {command} {' '.join(args)}")
        lines = err.splitlines()
        check(len(lines) == 2 and lines[0].startswith("Error: ") and "--help" in lines[1],
              f"expected an error line and a hint, got {lines!r}")
    status, out, _ = ctx.run_tool("pub", "--help")
    check(status == 0 and b"--repeat-delay" in out, "pub --help")
    status, out, _ = ctx.run_tool("sub", "--help")
    check(status == 0 and b"--retained-only" in out, "sub --help")


@test("options")
def credentials_are_checked_by_the_broker(ctx):
    port = ctx.broker.secured
    user, password = Broker.USER, Broker.PASSWORD
    sub = ctx.start_sub("-u", user, "-P", password, "-t", ctx.topic(), "-C", "1", port=port)
    ctx.pub_ok("-u", user, "-P", password, "-t", ctx.topic(), "-m", "authenticated", port=port)
    check_equal(finished(sub, "coromqtt sub -u -P"), b"authenticated\n", "output")
    # Wrong password: the CONNACK refusal, named, and its code as the exit status (3.1.1: 5; 5: 0x87 or 0x86).
    for version, statuses in (("311", {4, 5}), ("5", {0x86, 0x87})):
        for command in ("pub", "sub"):
            args = ["-t", ctx.topic(), "-m", "x"] if command == "pub" else ["-t", ctx.topic()]
            status, _, err = ctx.run_tool(command, "-p", str(port), "-V", version, "-u", user, "-P", "wrong", *args)
            check(status in statuses, f"{command} -V {version} with a wrong password exited with {status}")
            line = one_error_line(err, f"{command} with a wrong password")
            check(line.startswith("Connection refused by the broker: ") and "(0x8" in line, f"error line: {line!r}")
    # No credentials at all.
    status, _, err = ctx.run_tool("pub", "-p", str(port), "-t", ctx.topic(), "-m", "x")
    check(status == 5, f"anonymous pub to a protected listener exited with {status}")


@test("options")
def url_carries_credentials_and_topic(ctx):
    password = Broker.PASSWORD.replace(":", "%3A").replace("@", "%40").replace("/", "%2F")
    url = f"mqtt://{Broker.USER}:{password}@127.0.0.1:{ctx.broker.secured}/{ctx.topic()}"
    sub = ctx.start_tool("sub", "-d", "-L", url, "-C", "1")
    status, _, err = ctx.run_tool("pub", "-L", url, "-m", "via URL")
    check(status == 0, f"pub -L exited with {status}: {err!r}")
    check_equal(finished(sub, "sub -L"), b"via URL\n", "output")


@test("options")
def sigterm_and_sigint_end_sub_promptly_and_cleanly(ctx):
    for number in (signal.SIGTERM, signal.SIGINT):
        sub = ctx.start_sub("-t", ctx.topic())
        started = time.monotonic()
        sub.signal(number)
        status = sub.wait(5)
        check_equal(status, 0, f"exit status after {signal.Signals(number).name}")
        check(time.monotonic() - started < 2, f"{signal.Signals(number).name} took too long")
        check("sending DISCONNECT" in sub.stderr_text, f"no graceful disconnect: {sub.stderr_text!r}")


@test("options")
def sigterm_ends_pub_waiting_on_stdin(ctx):
    # pub -l keeps serving the connection while its input is quiet, and a signal ends it at once.
    pub = Process([ctx.tool, "pub", "-d", "-p", ctx.port, "-q", "1", "-t", ctx.topic(), "-l"], open_stdin=True)
    pub.write_stdin(b"first line\n")
    pub.wait_for_stderr(r"PUBLISH to '[^']*' acknowledged")
    started = time.monotonic()
    pub.signal(signal.SIGTERM)
    check_equal(pub.wait(5), 128 + signal.SIGTERM, "pub's exit status after SIGTERM")
    check(time.monotonic() - started < 2, "SIGTERM took too long")
    check("sending DISCONNECT" in pub.stderr_text, f"no graceful disconnect: {pub.stderr_text!r}")


@test("options")
def persistent_session_keeps_messages_and_unsubscribe_drops_a_filter(ctx):
    client_id = f"cli-test-{os.getpid()}"
    for version in ("311", "5"):
        cid = f"{client_id}-{version}"
        # -E: create the session and leave.
        sub = ctx.start_sub("-V", version, "-c", "-i", cid, "-q", "1", "-t", ctx.topic(f"{version}/kept"),
                            "-t", ctx.topic(f"{version}/dropped"), "-E", ready=False)
        finished(sub, "sub -c -E")
        # -U with -E: drop one filter from the stored session.
        sub = ctx.start_sub("-V", version, "-c", "-i", cid, "-U", ctx.topic(f"{version}/dropped"), "-E",
                            ready=False)
        finished(sub, "sub -c -U -E")
        ctx.pub_ok("-q", "1", "-t", ctx.topic(f"{version}/dropped"), "-m", "not for us")
        ctx.pub_ok("-q", "1", "-t", ctx.topic(f"{version}/kept"), "-m", "queued while away")
        # Back: the queued message arrives, the dropped filter's does not.
        sub = Process([ctx.tool, "sub", "-p", ctx.port, "-V", version, "-c", "-i", cid, "-q", "1", "-v",
                       "-t", ctx.topic(f"{version}/kept"), "-C", "1"])
        check_equal(finished(sub, "sub -c").decode(), f"{ctx.topic(f'{version}/kept')} queued while away\n",
                    f"-V {version}: what the session kept")
        # Clean up the session.
        Process([ctx.tool, "sub", "-p", ctx.port, "-V", version, "-i", cid, "-t", ctx.topic("x"), "-E"]).wait()


@test("options")
def session_expiry_keeps_a_session_without_c(ctx):
    cid = f"cli-test-expiry-{os.getpid()}"
    # -x alone: a clean start, but the session outlives the connection for 60 s.
    finished(ctx.start_sub("-V", "5", "-i", cid, "-x", "60", "-q", "1", "-t", ctx.topic(), "-E", ready=False),
             "sub -x -E")
    ctx.pub_ok("-q", "1", "-t", ctx.topic(), "-m", "kept by the session")
    # Back with -c, and the expiry given as a CONNECT property this time.
    sub = Process([ctx.tool, "sub", "-p", ctx.port, "-i", cid, "-c", "-D", "connect", "session-expiry-interval", "0",
                   "-q", "1", "-t", ctx.topic(), "-C", "1"])
    check_equal(finished(sub, "sub -c"), b"kept by the session\n", "what the session kept")
    # -D connect session-expiry-interval 0 ended the session with that connection: nothing is kept any more.
    ctx.pub_ok("-q", "1", "-t", ctx.topic(), "-m", "lost")
    sub = Process([ctx.tool, "sub", "-p", ctx.port, "-V", "5", "-i", cid, "-c", "-x", "0", "-q", "1", "-t", ctx.topic(),
                   "-W", "0.5"])
    check_equal(finished(sub, "sub -c after the session ended", expected_status=27), b"", "output")


@test("options")
def pub_resuming_a_session_with_many_stored_messages_acknowledges_them_and_completes(ctx):
    # Issue 14.5: pub does not read messages, but a session it resumes (-c) sends it what was stored. Left in the
    # receive queue (capacity 1000), they stopped the client's reading, acks included: keep alive then blamed
    # the broker. pub must take them, acknowledge them and drop them.
    cid = f"cli-test-resume-{os.getpid()}"
    finished(ctx.start_sub("-c", "-i", cid, "-q", "1", "-t", ctx.topic("held"), "-E", ready=False), "sub -c -E")
    ctx.pub_ok("-q", "1", "-t", ctx.topic("held"), "-l", stdin=b"".join(b"%d\n" % i for i in range(1500)))
    # Connected for about a second (the messages arrive meanwhile), with a keep alive that would expire if
    # the client stopped reading.
    started = time.monotonic()
    ctx.pub_ok("-c", "-i", cid, "-q", "1", "-k", "2", "-t", ctx.topic("out"), "-m", "x", "--repeat", "3",
               "--repeat-delay", "0.5")
    check(time.monotonic() - started < 5, "pub took longer than its repeats")
    # They were acknowledged: the session holds nothing any more.
    sub = Process([ctx.tool, "sub", "-p", ctx.port, "-c", "-i", cid, "-q", "1", "-t", ctx.topic("held"),
                   "-W", "0.5"])
    check_equal(finished(sub, "sub -c after pub took the messages", expected_status=27), b"",
                "what the session still held")
    Process([ctx.tool, "sub", "-p", ctx.port, "-i", cid, "-t", ctx.topic("x"), "-E"]).wait()  # clean up


@test("options")
def pub_with_retries_reconnects_and_delivers_after_a_broker_restart(ctx):
    own = Broker(ctx.mosquitto, tempfile.mkdtemp(dir=ctx.workdir), tls=False)
    try:
        pub = Process([ctx.tool, "pub", "-d", "-p", own.plain, "--retries", "5", "-q", "1", "-r", "-t", ctx.topic(),
                       "-l"], open_stdin=True)
        pub.write_stdin(b"before\n")
        pub.wait_for_stderr("acknowledged")
        own.stop()
        pub.wait_for_stderr("connection lost")
        own.start()
        pub.write_stdin(b"after\n")
        pub.close_stdin()
        check_equal(pub.wait(), 0, f"pub's exit status; stderr: {pub.stderr_text!r}")
        check("connected" in pub.stderr_text.split("connection lost", 1)[1], "pub did not reconnect")
        # The restarted broker kept nothing: what it retains came after the restart.
        sub = Process([ctx.tool, "sub", "-p", own.plain, "-t", ctx.topic(), "-C", "1", "-F", "%r %p"])
        check_equal(finished(sub, "sub"), b"1 after\n", "the retained message")
    finally:
        own.stop()


@test("options")
def will_is_published_when_the_connection_dies(ctx):
    watcher = ctx.start_mosquitto_sub("-q", "1", "-t", ctx.topic("will"), "-F", "%q %r %p", count=1)
    sub = ctx.start_sub("-t", ctx.topic("other"), "--will-topic", ctx.topic("will"), "--will-payload", "gone",
                        "--will-qos", "1")
    sub.kill()  # SIGKILL: no DISCONNECT, so the broker publishes the will
    check_equal(marked_output(watcher, "mosquitto_sub"), b"1 0 gone\n", "the will")


@test("options")
def sub_reconnects_after_losing_the_broker_and_pub_gives_up(ctx):
    # A broker of its own, to stop it under a connected subscriber.
    own = Broker(ctx.mosquitto, tempfile.mkdtemp(dir=ctx.workdir), tls=False)
    try:
        sub = ctx.start_sub("-t", ctx.topic(), "-q", "1", "-C", "1", port=own.plain)
        own.stop()
        sub.wait_for_stderr("connection lost")
        sub.wait_for_stderr("reconnecting in")
        check(sub.proc.poll() is None, "sub ended when the broker went away")
        sub.signal(signal.SIGTERM)
        check_equal(sub.wait(5), 0, "sub's exit status after SIGTERM while reconnecting")
    finally:
        own.stop()
    # pub, by default, gives up at once on a broker that is not there.
    status, _, err = ctx.pub("-t", ctx.topic(), "-m", "x", port=own.plain)
    check(status == 1, f"pub to a stopped broker exited with {status}")
    one_error_line(err, "pub to a stopped broker")


# --- Group transports: Unix socket, WebSocket, TLS --------------------------------------------------------------------
# The TLS and WebSocket transports are new in the library; a failure here may be theirs rather than the tool's.

@test("transports")
def unix_socket(ctx):
    sub = ctx.start_tool("sub", "-d", "--unix", ctx.broker.unix_socket, "-t", ctx.topic(), "-C", "1")
    status, _, err = ctx.run_tool("pub", "--unix", ctx.broker.unix_socket, "-q", "1", "-t", ctx.topic(), "-m", "unix")
    check(status == 0, f"pub --unix exited with {status}: {err!r}")
    check_equal(finished(sub, "sub --unix"), b"unix\n", "output")


@test("transports")
def websocket_url_splits_path_and_topic(ctx):
    base = f"ws://127.0.0.1:{ctx.broker.websocket}"
    sub = ctx.start_tool("sub", "-d", "-L", f"{base}/mqtt/{ctx.topic('#')}", "-C", "2", "-v")
    status, _, err = ctx.run_tool("pub", "-L", f"{base}/mqtt/{ctx.topic('a')}", "-q", "1", "-m", "over websocket")
    check(status == 0, f"pub -L ws:// exited with {status}: {err!r}")
    status, _, err = ctx.run_tool("pub", "-V", "5", "--ws-path", "/mqtt", "-L", f"{base}/{ctx.topic('b')}", "-q", "2",
                                  "-m", "with --ws-path")
    check(status == 0, f"pub --ws-path exited with {status}: {err!r}")
    out = finished(sub, "sub -L ws://").decode().splitlines()
    check_equal(out, [f"{ctx.topic('a')} over websocket", f"{ctx.topic('b')} with --ws-path"], "output")


@test("transports")
def tls_verifies_the_broker(ctx):
    c = ctx.broker.certificates
    port = str(ctx.broker.tls)
    sub = ctx.start_tool("sub", "-d", "-h", "localhost", "-p", port, "--cafile", c["ca"], "-t", ctx.topic(), "-C", "2")
    status, _, err = ctx.run_tool("pub", "-h", "localhost", "-p", port, "--cafile", c["ca"], "-q", "1",
                                  "-t", ctx.topic(), "-m", "over TLS")
    check(status == 0, f"pub --cafile exited with {status}: {err!r}")
    status, _, err = ctx.run_tool("pub", "-L", f"mqtts://127.0.0.1:{port}/{ctx.topic()}", "--cafile", c["ca"],
                                  "--tls-version", "tlsv1.2", "-m", "mqtts URL")
    check(status == 0, f"pub -L mqtts:// exited with {status}: {err!r}")
    check_equal(finished(sub, "sub --cafile"), b"over TLS\nmqtts URL\n", "output")

    # The wrong CA: refused, with one line that says why; --insecure accepts it.
    status, _, err = ctx.run_tool("pub", "-h", "localhost", "-p", port, "--cafile", c["other_ca"],
                                  "-t", ctx.topic(), "-m", "x")
    check(status == 1, f"pub with the wrong CA exited with {status}")
    line = one_error_line(err, "pub with the wrong CA")
    check("TLS" in line, f"the error does not say TLS: {line!r}")
    status, _, err = ctx.run_tool("pub", "-h", "localhost", "-p", port, "--cafile", c["other_ca"], "--insecure",
                                  "-t", ctx.topic(), "-m", "x")
    check(status == 0, f"pub --insecure exited with {status}: {err!r}")


@test("transports")
def tls_client_certificate(ctx):
    c = ctx.broker.certificates
    port = str(ctx.broker.mutual_tls)
    sub = ctx.start_tool("sub", "-d", "-h", "localhost", "-p", port, "--cafile", c["ca"], "--cert", c["client_cert"],
                         "--key", c["client_key"], "-t", ctx.topic(), "-C", "1")
    status, _, err = ctx.run_tool("pub", "-h", "localhost", "-p", port, "--cafile", c["ca"], "--cert",
                                  c["client_cert"], "--key", c["client_key"], "-t", ctx.topic(), "-m", "mutual")
    check(status == 0, f"pub --cert --key exited with {status}: {err!r}")
    check_equal(finished(sub, "sub --cert --key"), b"mutual\n", "output")
    status, _, err = ctx.run_tool("pub", "-h", "localhost", "-p", port, "--cafile", c["ca"], "-t", ctx.topic(),
                                  "-m", "x")
    check(status != 0, "pub without a client certificate was accepted by a broker that requires one")
    one_error_line(err, "pub without a client certificate")


# --- Group mqttjs: interoperability with MQTT.js ---------------------------------------------------------------------

def mqttjs(ctx, *args):
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mqttjs_peer.js")
    env = dict(os.environ, NODE_PATH=ctx.node_modules)
    return Process(["node", script, *[str(a) for a in args]], env=env)


@test("mqttjs")
def mqttjs_publishes_and_sub_receives(ctx):
    url = f"mqtt://127.0.0.1:{ctx.port}"
    for version in ("4", "5"):
        sub = ctx.start_sub("-V", "5" if version == "5" else "311", "-q", "2", "-t", ctx.topic(f"v{version}/#"),
                            "-F", "%t|%q|%C|%P|%p", "-C", "3")
        for qos in (0, 1, 2):
            peer = mqttjs(ctx, "pub", url, version, ctx.topic(f"v{version}/q{qos}"), qos, f"from MQTT.js {qos}")
            finished(peer, "MQTT.js publisher")
        out = finished(sub, "coromqtt sub").decode().splitlines()
        props = "text/plain|origin:mqtt.js" if version == "5" else "|"
        check_equal(out, [f"{ctx.topic(f'v{version}/q{q}')}|{q}|{props}|from MQTT.js {q}" for q in (0, 1, 2)],
                    f"MQTT {'5' if version == '5' else '3.1.1'} messages from MQTT.js")


@test("mqttjs")
def pub_publishes_and_mqttjs_receives(ctx):
    url = f"mqtt://127.0.0.1:{ctx.port}"
    for version in ("4", "5"):
        peer = mqttjs(ctx, "sub", url, version, ctx.topic(f"v{version}/#"), 3)
        peer.wait_for_stderr("subscribed")
        for qos in ("0", "1", "2"):
            args = ["-q", qos, "-t", ctx.topic(f"v{version}/q{qos}"), "-m", f"to MQTT.js {qos}"]
            if version == "5":
                args += ["-D", "publish", "user-property", "origin", "coromqtt"]
            ctx.pub_ok(*args)
        out = finished(peer, "MQTT.js subscriber").decode().splitlines()
        props = " origin=coromqtt" if version == "5" else ""
        check_equal(out, [f"{ctx.topic(f'v{version}/q{q}')} {q} to MQTT.js {q}{props}" for q in (0, 1, 2)],
                    "what MQTT.js received")


# --- Group bench: coromqtt bench against the test's mosquitto, spread over worker processes ------------------------

def run_bench(ctx, *args, limit_descriptors=None, expected_status=0):
    """Runs `coromqtt bench ARGS --json --quiet` against the test's broker; returns its summary, parsed."""
    def limit():
        if limit_descriptors:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit_descriptors, limit_descriptors))

    proc = subprocess.Popen([str(a) for a in [ctx.tool, "bench", *args, "-L", f"mqtt://127.0.0.1:{ctx.port}",
                                              "--json", "--quiet"]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=limit, start_new_session=True)
    _started.append(proc)
    try:
        out, err = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise TestFailure(f"coromqtt bench {' '.join(map(str, args))} did not end within {RUN_TIMEOUT} s")
    check(proc.returncode == expected_status,
          f"coromqtt bench {' '.join(map(str, args))} exited with {proc.returncode}, expected {expected_status}: "
          f"{err.decode(errors='replace')[-2000:]!r}")
    check_workers_gone(proc.pid)
    return json.loads(out) if out.strip() else {"stderr": err.decode(errors="replace")}


def check_workers_gone(pgid):
    """Nothing the tool started outlives it: its process group (workers stay in it) is empty."""
    deadline = time.monotonic() + 2
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        if time.monotonic() > deadline:
            os.killpg(pgid, signal.SIGKILL)
            raise TestFailure("a process of coromqtt bench's group was still running after it exited")
        time.sleep(0.05)  # polling for processes to end: there is nothing to wait on


def check_workers(summary, processes, clients):
    workers = summary.get("workers", [])
    check_equal(summary["processes"], processes, "processes")
    check_equal(len(workers), processes, "workers reported")
    check_equal(sorted(w["exit"] for w in workers), ["0"] * processes, "the workers' exit statuses")
    check_equal(sum(w["clients"] for w in workers), clients, "the clients of the workers, added up")
    for w in workers:
        try:
            os.kill(w["pid"], 0)
            raise TestFailure(f"worker {w['pid']} is still running")
        except ProcessLookupError:
            pass


@test("bench")
def bench_conn_over_two_processes_merges_the_connections(ctx):
    s = run_bench(ctx, "conn", "-c", "41", "-d", "0.3", "--processes", "2")
    check_workers(s, 2, 41)
    check_equal((s["clients"], s["connected"], s["connections"]), (41, 41, 41), "clients, connected, still connected")
    check_equal(s["connect_ms"]["count"], 41, "connect times merged from both workers")
    check(s["bytes_per_connection"] > 0, f"no memory per connection: {s!r}")
    check_equal(s["failures"], {}, "failures")


@test("bench")
def bench_refuses_what_one_process_cannot_hold_and_processes_spread_it(ctx):
    # 200 descriptors: 136 connections per process (64 are kept for the process's own use).
    s = run_bench(ctx, "conn", "-c", "300", "-d", "0.3", limit_descriptors=200, expected_status=2)
    check("do not fit in one process" in s["stderr"] and "--processes 3" in s["stderr"],
          f"the refusal does not say what to do: {s['stderr']!r}")
    s = run_bench(ctx, "conn", "-c", "300", "-d", "0.3", "--processes", "3", limit_descriptors=200)
    check_workers(s, 3, 300)
    check_equal(s["connected"], 300, "connected over three processes")


@test("bench")
def bench_conn_reports_why_connections_failed(ctx):
    closed = free_port()
    proc = subprocess.run([ctx.tool, "bench", "conn", "-c", "3", "-d", "0.1", "-L", f"mqtt://127.0.0.1:{closed}",
                           "--quiet"], capture_output=True, timeout=RUN_TIMEOUT)
    out = proc.stdout.decode()
    check_equal(proc.returncode, 1, "exit status")
    check("connections 0 of 3" in out, f"no count of connections: {out!r}")
    check(re.search(r"\b3 failed: connect: Connection refused", out), f"no reason with its count: {out!r}")
    check("0.00 KiB" not in out, f"a memory figure without a connection: {out!r}")


@test("bench")
def bench_pub_over_two_processes_merges_messages_and_latencies(ctx):
    s = run_bench(ctx, "pub", "-q", "1", "-c", "3", "-n", "400", "-t", ctx.topic("%i"), "--processes", "2")
    check_workers(s, 2, 3)
    check_equal(s["messages"], 1200, "messages acknowledged")
    check_equal(s["latency_us"]["count"], 1200, "latency samples merged from both workers")
    check(s["msgs_per_s"] > 0 and s["cpu_s"] > 0, f"no rate or CPU time: {s!r}")


@test("bench")
def bench_sub_over_two_processes_counts_what_bench_pub_sends(ctx):
    ready = os.path.join(ctx.workdir, "bench-sub-ready")
    sub = Process([ctx.tool, "bench", "sub", "-c", "2", "-n", "300", "-t", ctx.topic("%i"), "--processes", "2",
                   "--ready-file", ready, "-L", f"mqtt://127.0.0.1:{ctx.port}", "--json", "--quiet"])
    deadline = time.monotonic() + READY_TIMEOUT
    while not os.path.exists(ready):
        check(time.monotonic() < deadline and sub.proc.poll() is None, "bench sub never became ready")
        time.sleep(0.02)  # polling a file: there is nothing to wait on
    run_bench(ctx, "pub", "-c", "2", "-n", "300", "-r", "3000", "-s", "32", "-t", ctx.topic("%i"))
    s = json.loads(finished(sub, "bench sub"))
    check_workers(s, 2, 2)
    # 600 messages over the 599 intervals between the first and the last; each carried its send time.
    check_equal(s["messages"], 599, "messages received (intervals)")
    check_equal(s["latency_us"]["count"], 600, "latency samples")


@test("bench")
def bench_interrupted_over_two_processes_still_reports_and_every_worker_exits(ctx):
    p = Process([ctx.tool, "bench", "pub", "-c", "2", "-d", "30", "-r", "2000", "--processes", "2",
                 "-t", ctx.topic("%i"), "-L", f"mqtt://127.0.0.1:{ctx.port}", "--json"])
    p.wait_for_stderr(r"\[ +1s\]")  # measuring: the first merged progress line
    p.signal(signal.SIGINT)
    check_equal(p.wait(), 1, "exit status of an interrupted run")
    s = json.loads(p.stdout)
    check(s["messages"] > 0, f"nothing counted: {s!r}")
    check_equal(sorted(w["exit"] for w in s["workers"]), ["1", "1"], "the workers' exit statuses (interrupted)")
    check_workers_gone(p.proc.pid)


# --- Running ---------------------------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tool", required=True)
    parser.add_argument("--mosquitto", default=shutil.which("mosquitto") or "/usr/sbin/mosquitto")
    parser.add_argument("--group", required=True, choices=sorted({g for g, _, _ in TESTS}))
    parser.add_argument("--node-modules", default=os.path.join(os.path.dirname(__file__), "..", "node", "node_modules"))
    parser.add_argument("-k", dest="only", help="run only the tests whose name contains this")
    args = parser.parse_args()

    for program in ("mosquitto_pub", "mosquitto_sub", "mosquitto_passwd", "openssl"):
        if not shutil.which(program):
            print(f"{program} is not installed (apt-get install mosquitto-clients openssl)")
            return 1
    if args.group == "mqttjs" and (not shutil.which("node") or
                                   not os.path.isdir(os.path.join(args.node_modules, "mqtt"))):
        print(f"skipped: node or MQTT.js ({args.node_modules}/mqtt) is not installed (scripts/deps installs them)")
        return SKIPPED

    tests = [(name, fn) for group, name, fn in TESTS
             if group == args.group and (not args.only or args.only in name)]
    workdir = tempfile.mkdtemp(prefix="coromqtt-cli-test-")
    passed = failed = 0
    broker = None
    try:
        broker = Broker(args.mosquitto, workdir, tls=args.group == "transports")
        for name, fn in tests:
            ctx = Context(args, broker, name)
            ctx.workdir = workdir
            ctx.mosquitto = args.mosquitto
            started = time.monotonic()
            try:
                fn(ctx)
                passed += 1
                print(f"ok      {name} ({time.monotonic() - started:.2f} s)", flush=True)
            except TestFailure as e:
                failed += 1
                print(f"FAILED  {name}: {e}", flush=True)
            except Exception:
                failed += 1
                print(f"FAILED  {name}: unexpected error\n{traceback.format_exc()}", flush=True)
            finally:
                stop_everything_but(broker)
    finally:
        stop_everything()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed else 1


def stop_everything_but(broker):
    """Ends whatever a test left running (but the shared broker), so that one failure cannot leak into the next."""
    for proc in _started:
        if broker is not None and proc is broker.process.proc:
            continue
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def on_signal(number, _frame):
    stop_everything()
    sys.exit(128 + number)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        sys.exit(main())
    finally:
        stop_everything()
