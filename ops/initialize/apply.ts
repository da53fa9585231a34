// The writes: InitializeService in each place the plan found not initialised, once, re-read first;
// then a wait until DRS answers there and the account's service-linked role exists. The only part
// of initialize that changes anything.
import { InitializeServiceCommand } from "@aws-sdk/client-drs";
import { AwsAccess } from "../aws/access";
import { AccessStop, calling } from "../aws/calls";
import { answerLost, failure } from "../aws/faults";
import { Clock, Deadline, noDeadline, realClock } from "../clock";
import { PlaceReader } from "./calls";
import { ApplyOutcome, InitializePlan, Place, PlaceResult, Reading, Stop } from "./types";

export interface ApplyOptions {
    deadline?: Deadline;
    clock?: Clock;
    /** How often a place is read while DRS initialises there. */
    pollMs?: number;
    /** After an answer was lost: how long re-reads look for InitializeService having been done. */
    lostAnswerWaitMs?: number;
    signal?: AbortSignal;
    progress?: (line: string) => void;
    /** The command that resumes a run, for the stop message. */
    resume?: string;
}

export const defaultPollMs = 10_000;
export const defaultLostAnswerWaitMs = 2 * 60_000;

export const initializeService = "drs:InitializeService";

/** The run ends here (Ctrl-C, the time limit): caught by applyInitialization, which names where. */
class Halt extends Error {
    constructor(
        readonly reason: "time-limit" | "interrupted",
        message: string,
    ) {
        super(message);
    }
}

const where = (place: Place) => `${place.accountId}/${place.region}`;

/**
 * Initialises DRS in each place the plan found not initialised, place by place, reporting each
 * result as it happens. Re-reads each place first and skips it when initialised (safe to re-run);
 * sends InitializeService once (a lost answer is re-read, never resent), then waits until DRS
 * answers and the service-linked role exists. Stops at the first access error, at the time limit
 * and at Ctrl-C, naming where; another error fails that place and the run goes on.
 */
export async function applyInitialization(
    plan: InitializePlan,
    aws: AwsAccess,
    report: (result: PlaceResult) => void,
    options: ApplyOptions = {},
): Promise<ApplyOutcome> {
    const clock = options.clock ?? realClock;
    const deadline = options.deadline ?? noDeadline(clock);
    const resume = options.resume ?? "npm run -s initialize -- -s <stack> --apply";
    const o = { ...options, clock, deadline, pollMs: options.pollMs ?? defaultPollMs };
    // A role once seen is not read again; a missing one is, until it appears.
    const reader = new PlaceReader(aws, true, "existing");
    const results: PlaceResult[] = [];
    for (const place of plan.places.filter((p) => p.status === "not-initialised")) {
        const sent = { here: false };
        try {
            if (o.signal?.aborted) throw new Halt("interrupted", `stopped by Ctrl-C before ${where(place)}`);
            if (deadline.reached())
                throw new Halt("time-limit", `the ${deadline.minutes}-minute --time-limit was reached before ${where(place)}`);
            const result = await initializePlace(place, aws, reader, o, sent);
            results.push(result);
            report(result);
        } catch (err) {
            if (!(err instanceof AccessStop) && !(err instanceof Halt)) throw err;
            const stop: Stop = {
                accountId: place.accountId,
                region: place.region,
                reason: err instanceof Halt ? err.reason : "access",
                message: err.message,
                initialised: results.filter((r) => r.status === "initialised").length,
                sentHere: sent.here,
                resume,
                ...(err instanceof AccessStop ? { action: err.stop.action, permission: err.stop.permission } : {}),
            };
            return { results, stopped: stop };
        }
    }
    return { results };
}

type Waiting = Required<Pick<ApplyOptions, "pollMs">> & ApplyOptions & { clock: Clock; deadline: Deadline };

/** One place: re-read (the plan may be stale), then one InitializeService, never resent, then the wait. */
async function initializePlace(
    place: Place,
    aws: AwsAccess,
    reader: PlaceReader,
    o: Waiting,
    sent: { here: boolean },
): Promise<PlaceResult> {
    const result = { accountId: place.accountId, region: place.region };
    const now = await reader.read(place.accountId, place.region);
    if (now.status === "initialised")
        return { ...result, status: "skipped", message: "initialised already (re-read before the call): nothing was sent" };
    if (now.status === "unchecked")
        return {
            ...result,
            status: "failed",
            message: `could not be re-read before the call (${now.why}): nothing was sent; ${now.fix ?? "run again"}`,
        };
    let lost: unknown;
    try {
        // No request body: InitializeService takes none (HTTP 204). Sent once: the writer retries only throttling.
        await calling(place.accountId, initializeService, async () =>
            (await aws.drsWriter(place.accountId, place.region)).send(new InitializeServiceCommand({})),
        );
        sent.here = true;
    } catch (err) {
        if (err instanceof AccessStop) throw err;
        if (!answerLost(err))
            return {
                ...result,
                status: "failed",
                message: `InitializeService was refused (${failure(err)}): DRS did nothing; ${fixFor(err)}`,
            };
        // The request may have reached DRS: what DRS answers now says whether it was done.
        sent.here = true;
        lost = err;
    }
    const until = lost === undefined ? Number.POSITIVE_INFINITY : o.clock.now() + (o.lostAnswerWaitMs ?? defaultLostAnswerWaitMs);
    const waited = await waitUntilInitialised(reader, place, o, until);
    if (lost === undefined) return { ...result, status: "initialised", message: initialisedMessage(waited.reads) };
    if (waited.done)
        return {
            ...result,
            status: "initialised",
            message: `the answer to InitializeService was lost (${failure(lost)}), and a re-read shows DRS initialised: it was not sent again`,
        };
    return {
        ...result,
        status: "failed",
        message:
            `the answer to InitializeService was lost (${failure(lost)}), and re-reads show DRS still not initialised (${waited.reading.why}); ` +
            "it was not sent again: run again to retry",
    };
}

function initialisedMessage(reads: number): string {
    const after = reads > 1 ? `, after ${reads} reads` : "";
    return `InitializeService done: DRS answers and its service-linked role exists${after}`;
}

/** What to do about an error InitializeService answered (the DRS API's errors for it: 400, 403, 429, 500). */
function fixFor(err: unknown): string {
    const name = (err as Error).name ?? "";
    if (/^Throttling(Exception)?$/.test(name)) return "throttled past the SDK's retries: run again later";
    if (name === "ValidationException") return "initialise DRS in the DRS console there, or ask AWS Support";
    return "run again";
}

/**
 * Reads the place every pollMs until DRS answers there and the service-linked role exists, with
 * progress; gives up (done: false) at `until`; halts at the time limit and at Ctrl-C. A read that
 * fails (not for lack of permission) is waited past: DRS may be mid-way.
 */
async function waitUntilInitialised(
    reader: PlaceReader,
    place: Place,
    o: Waiting,
    until: number,
): Promise<{ done: boolean; reading: Reading; reads: number }> {
    for (let reads = 1; ; reads++) {
        const reading = await reader.read(place.accountId, place.region);
        if (reading.status === "initialised") return { done: true, reading, reads };
        if (o.signal?.aborted)
            throw new Halt("interrupted", `stopped by Ctrl-C while waiting for DRS to be initialised in ${where(place)}`);
        if (o.deadline.reached())
            throw new Halt(
                "time-limit",
                `the ${o.deadline.minutes}-minute --time-limit was reached while waiting for DRS to be initialised in ${where(place)} (${reading.why})`,
            );
        const left = until - o.clock.now();
        if (left <= 0) return { done: false, reading, reads };
        o.progress?.(`Waiting for DRS to be initialised in ${where(place)}: ${reading.why}...`);
        await o.clock.sleep(Math.min(o.pollMs, o.deadline.left(), left), o.signal);
    }
}
