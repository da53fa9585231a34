// Where the commands write: results on stdout, everything else (warnings, progress, errors) on stderr.

export interface Io {
    out(text: string): void;
    err(text: string): void;
}

/**
 * Keeps secret values out of what a command prints: each is replaced by "[secret]", as it appears
 * and as JSON would escape it. Values of 1 to 3 characters are left (they would mangle the text
 * without hiding anything).
 */
export function redacting(io: Io, secrets: string[]): Io {
    const forms = [...new Set(secrets.filter((s) => s.length >= 4).flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]))].sort(
        (a, b) => b.length - a.length,
    );
    if (forms.length === 0) return io;
    const hide = (text: string) => forms.reduce((t, secret) => t.split(secret).join("[secret]"), text);
    return { out: (text) => io.out(hide(text)), err: (text) => io.err(hide(text)) };
}

/** Progress on stderr, only once a command has run for more than `delayMs`: quick runs stay quiet. */
export function delayedProgress(io: Io, delayMs: number): { update(line: string): void; done(): void } {
    let current: string | undefined;
    let live = delayMs <= 0;
    const timer = setTimeout(() => {
        live = true;
        if (current) io.err(`${current}\n`);
    }, delayMs);
    timer.unref();
    return {
        update(line) {
            current = line;
            if (live) io.err(`${line}\n`);
        },
        done() {
            clearTimeout(timer);
        },
    };
}

/**
 * Runs `body` with Ctrl-C (SIGINT) as a signal: the first aborts it (`first` says what the command
 * does then: it stops at its next step), a second exits at once (130) after `second()`. Without
 * `enabled` (a signal given by the caller, or a dry run), `given` is passed on and SIGINT is left alone.
 */
export async function interruptible<T>(
    io: Io,
    enabled: boolean,
    words: { first: string; second: () => string },
    given: AbortSignal | undefined,
    body: (signal?: AbortSignal) => Promise<T>,
): Promise<T> {
    if (!enabled) return body(given);
    const controller = new AbortController();
    const onSigint = () => {
        if (!controller.signal.aborted) {
            io.err(`\nInterrupted: ${words.first} (Ctrl-C again to stop at once)...\n`);
            controller.abort();
            return;
        }
        io.err(`\n${words.second()}\n`);
        process.exit(130);
    };
    process.on("SIGINT", onSigint);
    try {
        return await body(controller.signal);
    } finally {
        process.off("SIGINT", onSigint);
    }
}
