// What the live commands make of an AWS call that went wrong. A check it stopped is "not checked",
// never passed, with why: the account could not be reached, the call was refused (and the
// permission it needs), the service kept failing, the answer was not what AWS sends, or the
// command's time limit came. A write whose answer was lost may have been done: the command looks
// before it decides. Paged reads stop at a bound instead of following a token forever.

/**
 * Why a check could not run: its account unreachable, its call refused, the service failing, an
 * answer AWS does not send, no answer in time, the command's time limit, DRS not initialised there,
 * a resource in the middle of a change, or another check it depends on that could not run.
 */
export type UncheckedKind =
    "unreachable" | "refused" | "service-error" | "malformed" | "timeout" | "time-limit" | "not-initialised" | "changing" | "depends";

export interface Unchecked {
    kind: UncheckedKind;
    /** What stopped it, in words. */
    why: string;
    /** For a refused call: the IAM action the credentials need. */
    permission?: string;
}

/** No credentials reach the account: verify says so instead of checking. */
export class UnreachableAccount extends Error {
    constructor(
        readonly account: string,
        reason: string,
        /** What to do about it. */
        readonly fix = "Set roleArn for this account in the stack config, or run with its credentials.",
    ) {
        super(`cannot reach account ${account}: ${reason}`);
        this.name = "UnreachableAccount";
    }
}

/** The command cannot talk to AWS at all (no credentials, expired, no network): one message, exit 2. */
export class NoAwsAccess extends Error {
    constructor(message: string) {
        super(message);
        this.name = "NoAwsAccess";
    }
}

/** The command ran past its --time-limit: what it had not done yet is not checked. */
export class TimeLimitReached extends Error {
    constructor(readonly minutes: number) {
        super(`the command's time limit of ${minutes} minutes (--time-limit) was reached`);
        this.name = "TimeLimitReached";
    }
}

/** An answer AWS does not send (a missing field, a field of the wrong kind, pages without end). */
export class MalformedAnswer extends Error {
    constructor(
        /** The IAM action of the call, such as drs:DescribeSourceServers. */
        readonly call: string,
        what: string,
    ) {
        super(`${call} answered ${what}: that is not an answer AWS sends`);
        this.name = "MalformedAnswer";
    }
}

/** `Name: message`, the message's first line: how the commands quote an error. */
export function failure(err: unknown): string {
    const e = err as Partial<Error>;
    return `${e?.name ?? "Error"}: ${String(e?.message ?? err).split("\n")[0]}`;
}

const deniedNames =
    /^(AccessDenied(Exception)?|UnauthorizedOperation|Unauthorized(Exception)?|NotAuthorized(Exception)?|AuthorizationError|Client\.UnauthorizedOperation)$/;

/** IAM's and the services' names for a refusal, as an error's name or a CloudTrail record's errorCode. */
export const isDeniedCode = (code: string): boolean => deniedNames.test(code);

/** The one rule for "the credentials may not do this". */
export function isAccessDenied(err: unknown): boolean {
    const { name = "", message = "" } = (err ?? {}) as Partial<Error>;
    return isDeniedCode(name) || /is not authorized to perform/.test(message);
}

/** The action a refusal names ("... is not authorized to perform: kms:Decrypt on ..."), if it names one. */
export function permissionIn(err: unknown): string | undefined {
    return /not authorized to perform:? ([\w-]+:[\w*]+)/.exec(String((err as Partial<Error>)?.message ?? ""))?.[1];
}

/** The SDK found no credentials, or AWS refused them as credentials (not a permission). */
const credentialNames =
    /^(CredentialsProviderError|ExpiredToken(Exception)?|TokenRefreshRequired|InvalidClientTokenId|UnrecognizedClientException|SignatureDoesNotMatch|InvalidAccessKeyId|IncompleteSignature)$/;

const transportCodes = /^(ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ECONNABORTED)$/;

/** No answer in time: the request timeout, a stalled connection. */
function timedOut(err: unknown): boolean {
    const e = (err ?? {}) as { name?: string; code?: string };
    return e.name === "TimeoutError" || e.name === "RequestTimeout" || e.code === "ETIMEDOUT" || e.name === "AbortError";
}

/** The service failed (a 5xx, or throttled past every retry): not the caller's doing. */
function serviceFailed(err: unknown): boolean {
    const e = (err ?? {}) as { name?: string; $fault?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    return (
        e.$fault === "server" ||
        (status !== undefined && status >= 500) ||
        /^(Throttling(Exception)?|TooManyRequestsException|RequestLimitExceeded|ServiceUnavailable(Exception)?|InternalServer(Error|Exception)|InternalFailure)$/.test(
            e.name ?? "",
        )
    );
}

/** The SDK could not read the answer as the API's (JSON that does not parse, a body of another shape). */
function unreadable(err: unknown): boolean {
    const e = (err ?? {}) as { name?: string; message?: string; $response?: unknown };
    return e.name === "SyntaxError" || /Deserialization error|Unexpected token|Expected .* but/.test(e.message ?? "");
}

/**
 * Why `err` stopped a check that calls `call` in `account` (its IAM action, such as kms:GetKeyPolicy).
 * Undefined for an error that is none of these: a bug, which the caller lets through.
 */
export function uncheckedOf(err: unknown, account: string, call?: string): Unchecked | undefined {
    if (err instanceof UnreachableAccount) return { kind: "unreachable", why: err.message };
    if (err instanceof TimeLimitReached) return { kind: "time-limit", why: err.message };
    if (err instanceof MalformedAnswer) return { kind: "malformed", why: err.message };
    const e = (err ?? {}) as { name?: string; code?: string };
    if (e.name === "UninitializedAccountException")
        return { kind: "not-initialised", why: `DRS is not initialised in ${account} in this Region (UninitializedAccountException)` };
    if (credentialNames.test(e.name ?? ""))
        return { kind: "unreachable", why: `the credentials for ${account} do not work (${failure(err)})` };
    if (isAccessDenied(err)) {
        const permission = permissionIn(err) ?? call;
        return {
            kind: "refused",
            why: `the credentials for ${account} were refused${permission ? ` ${permission}` : ""} (${failure(err)})`,
            permission,
        };
    }
    const what = call ? `${call} in ${account}` : `AWS in ${account}`;
    if (timedOut(err)) return { kind: "timeout", why: `${what} did not answer in time (${failure(err)})` };
    if (serviceFailed(err)) return { kind: "service-error", why: `${what} kept failing after the SDK's retries (${failure(err)})` };
    if (unreadable(err)) return { kind: "malformed", why: `${what} answered something unreadable (${failure(err)})` };
    if (e.code && transportCodes.test(e.code)) return { kind: "unreachable", why: `${what} could not be reached (${e.code})` };
    // Any other answer of AWS's (it carries $metadata): an error this command does not expect there.
    if ((err as { $metadata?: unknown })?.$metadata !== undefined)
        return { kind: "service-error", why: `${what} answered ${failure(err)}` };
    return undefined;
}

/**
 * Whether a write that failed with `err` may still have been done: the request may have reached
 * AWS and its answer been lost (no answer, a timeout, a 5xx). A 4xx answer (refused, invalid,
 * throttled) means AWS did not do it.
 */
export function answerLost(err: unknown): boolean {
    const e = (err ?? {}) as { name?: string; $metadata?: { httpStatusCode?: number }; $fault?: string };
    const status = e.$metadata?.httpStatusCode;
    if (status !== undefined) return status >= 500;
    // Without a status, no answer came, unless the error is one AWS only ever answers with.
    return !(e.$fault === "client" || isAccessDenied(err) || refusalNames.test(e.name ?? ""));
}

/** Errors AWS answers a request it did not carry out with. */
const refusalNames =
    /^(ValidationException|ConflictException|ResourceNotFoundException|ServiceQuotaExceededException|Throttling(Exception)?|UninitializedAccountException|InvalidParameter\w*|NotFoundException)$/;

/** Pages a listing may take before it is taken for one that never ends (300 servers a page-full is far less). */
export const maxPages = 1000;

/**
 * Every item of a paged call: `page` fetches one page from its token. Stops with MalformedAnswer
 * naming `call` when a token comes back twice or the pages pass `limit`, and when a page's items
 * are not a list.
 */
export async function allPages<T>(
    call: string,
    page: (nextToken: string | undefined) => Promise<{ items?: T[]; nextToken?: string }>,
    limit = maxPages,
): Promise<T[]> {
    const items: T[] = [];
    const seen = new Set<string>();
    let nextToken: string | undefined;
    for (let pages = 0; ; pages++) {
        if (pages >= limit) throw new MalformedAnswer(call, `more than ${limit} pages`);
        const answer = await page(nextToken);
        if (answer?.items !== undefined && !Array.isArray(answer.items)) throw new MalformedAnswer(call, "items that are not a list");
        items.push(...(answer?.items ?? []));
        nextToken = answer?.nextToken || undefined;
        if (!nextToken) return items;
        if (seen.has(nextToken)) throw new MalformedAnswer(call, `the same page token twice (after ${pages + 1} pages)`);
        seen.add(nextToken);
    }
}
