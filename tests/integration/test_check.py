"""`portd --check`: every rule of the manifest, through the real binary.

Each broken manifest must exit 1 and name file:line:column and the key path of the problem;
a valid one exits 0 and prints the port table. Nothing is bound, so well-known ports are fine.
"""

import os
import re
import subprocess
import tempfile
import unittest

from portd_harness import MODULES_DIR, PORTD_BIN, run_portd

FIXTURES = os.environ.get("PORTD_FIXTURE_MODULES_DIR", "")


def manifest(services, settings="", modules_dir=None):
    head = "portd:\n  modules_dir: {}\n".format(modules_dir or MODULES_DIR)
    return head + settings + "services:\n" + services


ECHO = """\
  echo:
    module: inetd
    listen: ["127.0.0.1:7"]
    options: {service: echo}
"""


class CheckValid(unittest.TestCase):
    def test_the_demo_manifest_of_make_run_passes(self):
        # conf/dev.yaml as `make run` uses it, with this build's modules: a copy beside a link
        # to conf/dev, so that its relative paths (the site, the FTP users) resolve as in the
        # source tree.
        conf = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "conf")
        with open(os.path.join(conf, "dev.yaml")) as f:
            text = f.read()
        self.assertIn("modules_dir: ../build/modules", text)
        text = text.replace("modules_dir: ../build/modules", "modules_dir: " + MODULES_DIR)
        with tempfile.TemporaryDirectory(prefix="portd-test-") as d:
            os.makedirs(os.path.join(d, "conf"))
            os.makedirs(os.path.join(d, "build", "ftp", "dev"))  # what `make run` creates
            os.symlink(os.path.abspath(os.path.join(conf, "dev")), os.path.join(d, "conf", "dev"))
            path = os.path.join(d, "conf", "dev.yaml")
            with open(path, "w") as f:
                f.write(text)
            p = subprocess.run([PORTD_BIN, "--check", "-c", path], stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("OK, 7 services", p.stdout)

    def test_valid_manifest_prints_the_port_table(self):
        rc, out, err = run_portd(["--check"], manifest(ECHO + """\
  day:
    module: inetd
    listen: ["0.0.0.0:13", "[::]:13"]
    options: {service: daytime}
"""))
        self.assertEqual(rc, 0, err)
        header = out.splitlines()[0].split()
        self.assertEqual(header[:7], ["PORT", "PROTO", "ADDRESS", "SERVICE", "MODULE", "RANGE",
                                      "IANA"])
        rows = [line.split() for line in out.splitlines()[1:] if line[:1].isdigit()]
        self.assertIn(["7", "tcp", "127.0.0.1", "echo", "inetd", "well-known", "echo"], rows)
        self.assertIn(["13", "tcp", "0.0.0.0", "day", "inetd", "well-known", "daytime"], rows)
        self.assertIn(["13", "tcp", "[::]", "day", "inetd", "well-known", "daytime"], rows)
        self.assertIn("OK", out)

    def test_dynamic_range_port_is_a_warning_not_an_error(self):
        rc, out, err = run_portd(["--check"], manifest("""\
  echo:
    module: inetd
    listen: ["127.0.0.1:50007"]
    options: {service: echo}
"""))
        self.assertEqual(rc, 0, err)
        self.assertRegex(err, r"portd\.yaml:6:\d+: services\.echo\.listen\[0\].*ephemeral")
        self.assertIn("dynamic", out)

    def test_check_binds_nothing(self):
        # A port that is in use does not fail --check: it binds nothing.
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            port = s.getsockname()[1]
            rc, out, err = run_portd(["--check"], manifest(ECHO.replace("127.0.0.1:7",
                                                                        "127.0.0.1:%d" % port)))
            self.assertEqual(rc, 0, err)


class CheckBroken(unittest.TestCase):
    """One broken manifest per rule; each error carries file:line:col and a key path."""

    def check_fails(self, text, *patterns, modules_dir=None, files=None):
        rc, out, err = run_portd(["--check"], text, files=files)
        self.assertEqual(rc, 1, "expected exit 1\nstdout:\n%s\nstderr:\n%s" % (out, err))
        for pattern in patterns:
            self.assertRegex(err, pattern)
        return err

    def test_yaml_syntax_error(self):
        self.check_fails(manifest(ECHO + "  bad: [unclosed\n"), r"portd\.yaml:\d+:\d+: ")

    def test_unknown_top_level_key_suggests_the_nearest(self):
        self.check_fails(manifest(ECHO).replace("services:", "servces:"),
                         r"portd\.yaml:3:1: servces: .*did you mean 'services'")

    def test_unknown_service_key_suggests_the_nearest(self):
        self.check_fails(manifest(ECHO.replace("listen:", "lisen:")),
                         r"portd\.yaml:6:5: services\.echo\.lisen: .*did you mean 'listen'")

    def test_missing_module(self):
        self.check_fails(manifest("  echo:\n    listen: [\"127.0.0.1:7\"]\n"),
                         r"portd\.yaml:\d+:\d+: services\.echo\.module: .*required")

    def test_port_zero(self):
        self.check_fails(manifest(ECHO.replace("127.0.0.1:7", "127.0.0.1:0")),
                         r"portd\.yaml:6:\d+: services\.echo\.listen\[0\]: .*0")

    def test_port_above_65535(self):
        self.check_fails(manifest(ECHO.replace("127.0.0.1:7", "127.0.0.1:70000")),
                         r"portd\.yaml:6:\d+: services\.echo\.listen\[0\]: .*65535")

    def test_port_not_a_number(self):
        self.check_fails(manifest(ECHO.replace("127.0.0.1:7", "127.0.0.1:http")),
                         r"services\.echo\.listen\[0\]")

    def test_ipv6_without_brackets(self):
        self.check_fails(manifest(ECHO.replace('"127.0.0.1:7"', '"127.0.0.1:7", "::1:7"')),
                         r"portd\.yaml:6:\d+: services\.echo\.listen\[1\]: .*\[::1\]:7")

    def test_two_services_on_one_port_name_both_places(self):
        err = self.check_fails(manifest(ECHO + ECHO.replace("  echo:", "  echo2:")),
                               r"services\.echo2\.listen\[0\]")
        self.assertRegex(err, r"portd\.yaml:6:\d+")   # the first service's place
        self.assertRegex(err, r"portd\.yaml:10:\d+")  # the second's

    def test_wildcard_and_specific_address_on_one_port_conflict(self):
        other = ECHO.replace("  echo:", "  all:").replace("127.0.0.1:7", "0.0.0.0:7")
        self.check_fails(manifest(ECHO + other), r"services\.all\.listen\[0\]",
                         r"services\.echo\.listen\[0\]")

    def test_bad_duration(self):
        self.check_fails(manifest(ECHO, settings="  shutdown_timeout: 30\n"),
                         r"portd\.yaml:3:\d+: portd\.shutdown_timeout: .*unit")

    def test_bad_rate(self):
        self.check_fails(manifest(ECHO + "    limits: {rate: 200/x}\n"),
                         r"portd\.yaml:8:\d+: services\.echo\.limits\.rate: ")

    def test_bad_thread_count(self):
        self.check_fails(manifest(ECHO + "    threads: 0\n"),
                         r"portd\.yaml:8:\d+: services\.echo\.threads: ")

    def test_bad_cidr(self):
        self.check_fails(manifest(ECHO + "    allow: [10.0.0.0/33]\n"),
                         r"portd\.yaml:8:\d+: services\.echo\.allow\[0\]: ")

    def test_module_validates_its_own_options(self):
        self.check_fails(manifest(ECHO.replace("service: echo", "service: echoo")),
                         r"portd\.yaml:7:\d+: services\.echo\.options\.service: .*echo")

    def test_unknown_module(self):
        self.check_fails(manifest(ECHO.replace("module: inetd", "module: gopher")),
                         r"services\.echo\.module: .*gopher\.so.*does not exist")

    @unittest.skipUnless(FIXTURES, "fixture modules not built")
    def test_module_of_another_abi_version(self):
        text = manifest(ECHO.replace("module: inetd", "module: wrong_abi"), modules_dir=FIXTURES)
        self.check_fails(text, r"services\.echo\.module: .*wrong_abi\.so.*ABI version")

    @unittest.skipUnless(FIXTURES, "fixture modules not built")
    def test_file_that_is_not_a_module(self):
        text = manifest(ECHO.replace("module: inetd", "module: no_entry"), modules_dir=FIXTURES)
        self.check_fails(text, r"no_entry\.so.* is not a portd module")

    def test_error_in_an_included_file_names_that_file(self):
        text = manifest(ECHO, settings="  include: [services.d/*.yaml]\n")
        bad = "services:\n  web:\n    module: inetd\n    listen: [\"127.0.0.1:99999\"]\n"
        self.check_fails(text, r"services\.d/web\.yaml:4:\d+: services\.web\.listen\[0\]",
                         files={"services.d/web.yaml": bad})

    def test_every_error_is_reported_not_only_the_first(self):
        text = manifest(ECHO.replace("listen:", "lisen:") + """\
  two:
    module: inetd
    listen: ["127.0.0.1:0"]
    threads: many
    options: {service: chargn}
""", settings="  shutdown_timeout: soon\n")
        err = self.check_fails(text, r"lisen", r"services\.two\.listen\[0\]",
                               r"services\.two\.threads", r"shutdown_timeout",
                               r"services\.two\.options\.service")
        self.assertGreaterEqual(len(re.findall(r"^error: ", err, re.M)), 5, err)

    def test_missing_manifest_file(self):
        rc, out, err = run_portd(["--check", "-c", "/nonexistent/portd.yaml"])
        self.assertEqual(rc, 1)
        self.assertIn("/nonexistent/portd.yaml", err)


if __name__ == "__main__":
    unittest.main()
