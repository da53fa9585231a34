// Wall time and waiting for the live commands, replaceable by the tests' fake clock; and the
// overall time limit each command runs under (--time-limit).
import { TimeLimitReached } from "./aws/faults";

export interface Clock {
    now(): number;
    /** Resolves after `ms`, or as soon as `signal` aborts. */
    sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
    now: () => Date.now(),
    sleep: (ms, signal) =>
        new Promise((resolve) => {
            if (signal?.aborted) return resolve();
            const done = () => {
                clearTimeout(timer);
                signal?.removeEventListener("abort", done);
                resolve();
            };
            const timer = setTimeout(done, ms);
            signal?.addEventListener("abort", done, { once: true });
        }),
};

/** At most one call per `intervalMs`: waits on `clock` as needed before each call. */
export function pacer(clock: Clock, intervalMs: number): (signal?: AbortSignal) => Promise<void> {
    let last = Number.NEGATIVE_INFINITY;
    return async (signal) => {
        const wait = last + intervalMs - clock.now();
        if (wait > 0) await clock.sleep(wait, signal);
        last = clock.now();
    };
}

/** A command's overall time limit, counted from its start on `clock`. */
export class Deadline {
    private readonly end: number;

    constructor(
        private readonly clock: Clock,
        readonly minutes: number,
    ) {
        this.end = clock.now() + minutes * 60_000;
    }

    /** Milliseconds left, 0 once reached. */
    left(): number {
        return Math.max(0, this.end - this.clock.now());
    }

    reached(): boolean {
        return this.left() === 0;
    }

    /** Throws TimeLimitReached once the limit has passed: called before each step. */
    check(): void {
        if (this.reached()) throw new TimeLimitReached(this.minutes);
    }
}

/** No limit: for the library calls (tests, other programs) that set none. */
export const noDeadline = (clock: Clock = realClock) => new Deadline(clock, Number.POSITIVE_INFINITY);
