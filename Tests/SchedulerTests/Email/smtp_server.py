"""A real SMTP server for Klaxon's email tests: aiosmtpd on loopback, with STARTTLS, implicit TLS and AUTH
as asked, and scripted refusals. Each accepted message is written to <dir>/<n>.json (envelope, AUTH login,
whether TLS was on, the raw message) before the server answers 250, so a client that got its 250 finds
the file. Prints "READY <port>" once it listens."""

import argparse
import email
import email.policy
import json
import os
import socket
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def parse_arguments():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True, help="where accepted messages are written")
    parser.add_argument("--cert", help="certificate (PEM) for STARTTLS or implicit TLS")
    parser.add_argument("--key", help="its private key (PEM)")
    parser.add_argument("--implicit-tls", action="store_true", help="TLS from the first byte instead of STARTTLS")
    parser.add_argument("--auth", help="user:password that AUTH accepts; without it AUTH is not offered")
    parser.add_argument("--only-login", action="store_true", help="offer AUTH LOGIN only (not PLAIN)")
    parser.add_argument("--refuse-rcpt", action="append", default=[], metavar="ADDRESS=REPLY",
                        help="answer RCPT TO:<ADDRESS> with REPLY, e.g. 550 5.1.1 no such user")
    parser.add_argument("--data-reply", action="append", default=[], metavar="REPLY",
                        help="answer the end of DATA with these replies, one per message, before accepting")
    return parser.parse_args()


class Recorder:
    def __init__(self, arguments):
        self.directory = arguments.dir
        self.refusals = dict(entry.split("=", 1) for entry in arguments.refuse_rcpt)
        self.data_replies = list(arguments.data_reply)
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refusals:
            return self.refusals[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_replies:
            return self.data_replies.pop(0)
        self.count += 1
        # Read back by Python's own mail parser, an independent reader of what Klaxon wrote.
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        parts = [part for part in parsed.walk() if not part.is_multipart()]
        record = {
            "headers": {name: str(value) for name, value in parsed.items()},
            "content_type": parsed.get_content_type(),
            "parts": [{"type": part.get_content_type(), "charset": part.get_content_charset(), "body": part.get_content()} for part in parts],
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "login": session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None,
            # session.ssl is set by STARTTLS; a connection that began in TLS shows it on its transport.
            "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
            "data": envelope.original_content.decode("utf-8", "replace"),
        }
        path = os.path.join(self.directory, "%d.json" % self.count)
        with open(path + ".tmp", "w") as out:
            json.dump(record, out)
        os.rename(path + ".tmp", path)
        return "250 2.0.0 queued as %d" % self.count


def authenticator_for(expected):
    user, password = expected.split(":", 1)

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    return authenticate


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main():
    arguments = parse_arguments()
    context = None
    if arguments.cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(arguments.cert, arguments.key)
    options = {}
    if context is not None and not arguments.implicit_tls:
        options["tls_context"] = context
    if context is not None and arguments.implicit_tls:
        options["ssl_context"] = context
    if arguments.auth:
        options["authenticator"] = authenticator_for(arguments.auth)
        options["auth_require_tls"] = True
        if arguments.only_login:
            options["auth_exclude_mechanism"] = ["PLAIN"]
    else:
        options["auth_exclude_mechanism"] = ["PLAIN", "LOGIN"]
    port = free_port()
    controller = Controller(Recorder(arguments), hostname="127.0.0.1", port=port, server_hostname="localhost", **options)
    controller.start()
    print("READY %d" % port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    sys.exit(main())
