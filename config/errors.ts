// The user's mistakes, as the commands and the program report them: one message, no stack trace,
// and the exit code on the error (the CLI returns it; `pulumi up` shows the message).

/** A mistake of the user's (a flag, a file, the config): one message on stderr, exit code 2. */
export class UsageError extends Error {
    /** The CLI's exit code: 2, could not run. */
    readonly exitCode: number = 2;
    constructor(message: string) {
        super(message);
        this.name = "UsageError";
    }
}

/** Every problem of a stack config at once, each naming its full key and the fix. */
export class ConfigError extends UsageError {
    constructor(readonly problems: string[]) {
        super(
            `Invalid stack config (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}
