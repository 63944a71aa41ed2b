# Stand-in for the guacamole/guacd:1.6.0 image. Its entrypoint runs
#   guacd -f -b 0.0.0.0 -L "$LOG_LEVEL" "$@"
# and guacd parses that with musl's getopt: parsing stops at the first argument that is not an option
# (so a command that starts with a path leaves guacd on 0.0.0.0), and a later -b overrides an earlier
# one. It then listens on 4822 at that address. Connections are accepted and closed: the rehearsal
# checks where guacd listens, not the Guacamole protocol.
import getopt
import os
import socket
import sys


def parse(argv):
    """Returns (bind_host, bind_port, log_level) as guacd 1.6 would, or raises getopt.GetoptError."""
    opts, _operands = getopt.getopt(argv, 'l:b:p:L:C:K:fv')
    host, port, level = '0.0.0.0', '4822', 'info'
    for flag, value in opts:
        if flag == '-b':
            host = value
        elif flag == '-l':
            port = value
        elif flag == '-L':
            level = value
    return host, int(port), level


def main():
    argv = ['-f', '-b', '0.0.0.0', '-L', os.environ.get('LOG_LEVEL', 'info'), *sys.argv[1:]]
    if '--parse' in os.environ.get('STANDIN_MODE', ''):
        print('%s %d %s' % parse(argv))
        return
    try:
        host, port, level = parse(argv)
    except getopt.GetoptError as e:
        sys.stderr.write('guacd: %s\n' % e)
        sys.exit(1)
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    server = socket.socket(family, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((host, port))
    server.listen(16)
    sys.stderr.write('guacd[1]: INFO:\tGuacamole proxy daemon (guacd) version 1.6.0 (rehearsal stand-in) started\n')
    sys.stderr.write('guacd[1]: INFO:\tListening on host %s, port %d\n' % (host, port))
    while True:
        conn, peer = server.accept()
        if level in ('debug', 'trace'):
            sys.stderr.write('guacd[1]: DEBUG:\tconnection from %s\n' % (peer[0],))
        conn.close()


if __name__ == '__main__':
    main()
