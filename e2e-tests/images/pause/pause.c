// The pod sandbox's process: holds the pod's namespaces open and does nothing else. As PID 1 of
// the pod it also reaps zombies (for pods that share the process namespace), and it exits at once
// on SIGTERM/SIGINT so that tearing a sandbox down never waits out a grace period.
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig) {
    (void) sig;
    _exit(0);
}

static void on_child(int sig) {
    (void) sig;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

int main(void) {
    struct sigaction stop = {.sa_handler = on_stop};
    struct sigaction child = {.sa_handler = on_child, .sa_flags = SA_NOCLDSTOP};
    sigaction(SIGTERM, &stop, NULL);
    sigaction(SIGINT, &stop, NULL);
    sigaction(SIGCHLD, &child, NULL);
    for (;;) {
        pause();
    }
}
