/*
 * relay_floor: the least a PTY recorder can cost. It starts `sh -c CMD` on a new PTY and only relays
 * (poll; master readable -> one read -> one write to stdout; stdin readable -> write to the master),
 * records nothing, and exits with the command's status. bench_pty.py builds it with the system's C compiler
 * and runs it beside bare, script, asciinema and tracer: what separates it from bare is the second PTY hop
 * itself, which no recorder can avoid.
 *
 *     cc -O2 -o relay_floor relay_floor.c -lutil && ./relay_floor 'seq 1 3000000'
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static char buf[1 << 16];

static int write_all(int fd, const char *p, ssize_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, (size_t)n);
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return -1;
        }
        p += w;
        n -= w;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: relay_floor CMD\n");
        return 2;
    }
    struct winsize ws = {24, 80, 0, 0};
    ioctl(0, TIOCGWINSZ, &ws);
    int master;
    pid_t pid = forkpty(&master, NULL, NULL, &ws);
    if (pid < 0) return 127;
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", argv[1], (char *)NULL);
        _exit(127);
    }
    struct termios saved, raw;
    int tty = tcgetattr(0, &saved) == 0;
    if (tty) {
        raw = saved;
        cfmakeraw(&raw);
        tcsetattr(0, TCSANOW, &raw);
    }
    fcntl(master, F_SETFL, O_NONBLOCK);
    struct pollfd fds[2] = {{master, POLLIN, 0}, {0, POLLIN, 0}};
    for (;;) {
        if (poll(fds, 2, -1) < 0) continue;
        if (fds[1].revents) {
            ssize_t k = read(0, buf, sizeof buf);
            if (k > 0) write_all(master, buf, k);
            else fds[1].fd = -1;
        }
        if (fds[0].revents) {
            ssize_t n = read(master, buf, sizeof buf);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (n <= 0) break; /* EIO: the child and everything it started are gone */
            write_all(1, buf, n);
        }
    }
    if (tty) tcsetattr(0, TCSANOW, &saved);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
