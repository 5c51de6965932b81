/* The emulated commands' client, in C: the same protocol as agent.py (see there), without
 * a Python start-up per command. A real node runs its commands on its own CPU; in the lab
 * every node shares the machine's few cores, so a command's own cost (12 ms for agent.py,
 * under 1 ms here) would be charged to whatever the lab is judging or measuring.
 * Built on demand by lab/native.py; agent.py is used where no C compiler is found.
 *
 * Usage: agent SOCKET HOST COMMAND [ARGS...]   (SOCKET "@name": abstract namespace)
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

static const char *cmd = "agent";

static void write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR) continue;
            exit(141);
        }
        p += k;
        n -= (size_t)k;
    }
}

static void send_frame(int s, char kind, const char *p, size_t n) {
    unsigned char head[5] = {(unsigned char)kind, (unsigned char)(n >> 24), (unsigned char)(n >> 16),
                             (unsigned char)(n >> 8), (unsigned char)n};
    write_all(s, (const char *)head, 5);
    if (n) write_all(s, p, n);
}

static int read_exact(int s, char *p, size_t n) {
    while (n > 0) {
        ssize_t k = read(s, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static void lost(void) {
    dprintf(2, "%s: connection to the node's services lost\n", cmd);
    exit(255);
}

/* One line of standard input, byte by byte (nothing read beyond it); -1 at end of input. */
static long read_line(char **buf, size_t *cap) {
    size_t n = 0;
    for (;;) {
        char c;
        ssize_t k = read(0, &c, 1);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return n ? (long)n : -1;
        if (c == '\n') return (long)n;
        if (n + 1 > *cap) {
            *cap = *cap ? *cap * 2 : 256;
            *buf = realloc(*buf, *cap);
            if (!*buf) exit(1);
        }
        (*buf)[n++] = c;
    }
}

static struct termios saved;
static volatile sig_atomic_t echo_off;

/* Killed during a hidden read: give the terminal its echo back first (as agent.py's
 * finally does), then die of the same signal. */
static void restore_and_die(int sig) {
    if (echo_off) tcsetattr(0, TCSANOW, &saved);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* A prompt comes with the read request and is written once echo is off, as sudo and
 * `read -s -p` do: a fast typist's answer is never echoed. */
static void answer_line(int s, int echo, const char *prompt, size_t plen) {
    static char *buf;
    static size_t cap;
    struct termios quiet;
    int silent = !echo && isatty(0) && tcgetattr(0, &saved) == 0;
    if (silent) {
        quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        signal(SIGINT, restore_and_die);
        signal(SIGTERM, restore_and_die);
        signal(SIGHUP, restore_and_die);
        echo_off = 1;
        tcsetattr(0, TCSADRAIN, &quiet);
    }
    if (plen) write_all(1, prompt, plen);
    long n = read_line(&buf, &cap);
    if (silent) {
        tcsetattr(0, TCSADRAIN, &saved);
        echo_off = 0;
        write_all(1, "\n", 1);
    }
    if (n < 0) send_frame(s, 'n', NULL, 0);
    else send_frame(s, 'l', buf, (size_t)n);
}

static void answer_all(int s) {
    size_t n = 0, cap = 4096;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) exit(1);
        if (n == cap) buf = realloc(buf, cap *= 2);
        if (!buf) exit(1);
        ssize_t k = read(0, buf + n, cap - n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        n += (size_t)k;
    }
    send_frame(s, 'd', buf, n);
    free(buf);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: agent SOCKET HOST COMMAND [ARGS...]\n");
        return 2;
    }
    cmd = argv[3];
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    const char *name = argv[1];
    socklen_t len;
    size_t nl = strlen(name);
    if (name[0] == '@' ? nl > sizeof addr.sun_path : nl >= sizeof addr.sun_path) {
        dprintf(2, "%s: cannot reach the node's services (socket name too long)\n", cmd);
        return 255;
    }
    if (name[0] == '@') {
        memcpy(addr.sun_path + 1, name + 1, nl - 1);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + nl);
    } else {
        memcpy(addr.sun_path, name, nl);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + nl + 1);
    }
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&addr, len) < 0) {
        dprintf(2, "%s: cannot reach the node's services ([Errno %d] %s)\n", cmd, errno, strerror(errno));
        return 255;
    }
    /* hello: host, command, cwd, tty flag, args; NUL-separated */
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) strcpy(cwd, "/");
    const char *tty = isatty(0) ? "1" : "0";
    size_t total = strlen(argv[2]) + 1 + strlen(cmd) + 1 + strlen(cwd) + 1 + 1;
    for (int i = 4; i < argc; i++) total += 1 + strlen(argv[i]);
    char *hello = malloc(total + 1), *p = hello;
    if (!hello) return 1;
    const char *fields[4] = {argv[2], cmd, cwd, tty};
    for (int i = 0; i < 4; i++) {
        size_t k = strlen(fields[i]);
        memcpy(p, fields[i], k);
        p += k;
        if (i < 3) *p++ = '\0';
    }
    for (int i = 4; i < argc; i++) {
        *p++ = '\0';
        size_t k = strlen(argv[i]);
        memcpy(p, argv[i], k);
        p += k;
    }
    send_frame(s, 'h', hello, (size_t)(p - hello));
    free(hello);

    char head[5];
    char *payload = NULL;
    size_t cap = 0;
    for (;;) {
        if (read_exact(s, head, 5) < 0) lost();
        size_t n = ((size_t)(unsigned char)head[1] << 24) | ((size_t)(unsigned char)head[2] << 16)
                   | ((size_t)(unsigned char)head[3] << 8) | (size_t)(unsigned char)head[4];
        if (n + 1 > cap) {
            cap = n + 1;
            payload = realloc(payload, cap);
            if (!payload) return 1;
        }
        if (n && read_exact(s, payload, n) < 0) lost();
        payload[n] = '\0';
        switch (head[0]) {
        case 'o': write_all(1, payload, n); break;
        case 'e': write_all(2, payload, n); break;
        case 'r': answer_line(s, n >= 1 && payload[0] == '1', n > 1 ? payload + 1 : "",
                              n > 1 ? (size_t)(n - 1) : 0); break;
        case 'a': answer_all(s); break;
        case 'x': return atoi(payload);
        default: break;
        }
    }
}
