"""A TCP proxy on loopback that a test controls: the ward<->city "network".

    proxy = Proxy(target_port).start()     # listen on proxy.port
    proxy.cut()      # drop every connection, refuse new ones (a partition)
    proxy.heal()     # accept again
    proxy.stop()

Used instead of network namespaces because it needs no privileges and
cuts a link the same way to both ends (connections reset, nothing gets
through) while the processes on both sides keep running.
"""
import select
import socket
import threading


class Proxy:
    def __init__(self, target_port, host="127.0.0.1"):
        self.target = (host, target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.pairs = []
        self.open = True
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _run(self):
        while self.running:
            with self.lock:
                socks = [self.listener] + [s for pair in self.pairs for s in pair]
            try:
                readable, _, _ = select.select(socks, [], [], 0.05)
            except (OSError, ValueError):
                self._prune()
                continue
            for sock in readable:
                if sock is self.listener:
                    self._accept()
                else:
                    self._forward(sock)

    def _accept(self):
        try:
            client, _ = self.listener.accept()
        except OSError:
            return
        if not self.open:
            client.close()
            return
        try:
            upstream = socket.create_connection(self.target, timeout=2)
        except OSError:
            client.close()
            return
        with self.lock:
            self.pairs.append((client, upstream))

    def _forward(self, sock):
        with self.lock:
            pair = next((p for p in self.pairs if sock in p), None)
        if not pair:
            return
        other = pair[1] if sock is pair[0] else pair[0]
        try:
            data = sock.recv(65536)
            if data:
                other.sendall(data)
                return
        except OSError:
            pass
        self._close(pair)

    def _close(self, pair):
        with self.lock:
            if pair in self.pairs:
                self.pairs.remove(pair)
        for s in pair:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                s.close()
            except OSError:
                pass

    def _prune(self):
        with self.lock:
            pairs = list(self.pairs)
        for pair in pairs:
            if any(s.fileno() < 0 for s in pair):
                self._close(pair)

    def cut(self):
        self.open = False
        with self.lock:
            pairs = list(self.pairs)
        for pair in pairs:
            self._close(pair)

    def heal(self):
        self.open = True

    def stop(self):
        self.cut()
        self.running = False
        self.thread.join(timeout=5)
        self.listener.close()
