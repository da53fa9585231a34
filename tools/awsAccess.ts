// AWS clients per account for the verify command: the same roles the program's providers assume,
// and one retry policy for throttling that the tests can drive.
import { DrsClient } from "@aws-sdk/client-drs";
import { IAMClient } from "@aws-sdk/client-iam";
import { KMSClient } from "@aws-sdk/client-kms";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";

type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

/** The clients verify uses, per account (and Region). */
export interface AwsAccess {
    kms(account: string, region: string): Promise<KMSClient>;
    drs(account: string, region: string): Promise<DrsClient>;
    iam(account: string): Promise<IAMClient>;
}

/** No credentials reach the account: verify says so instead of checking. */
export class UnreachableAccount extends Error {
    constructor(
        readonly account: string,
        reason: string,
    ) {
        super(`cannot reach account ${account}: ${reason}`);
        this.name = "UnreachableAccount";
    }
}

/**
 * Credentials per account: assume the role the config names for it, as the program's provider
 * does; without one, use the ambient credentials if they are for that account.
 */
export class AssumedRoleAccess implements AwsAccess {
    private readonly credentials = new Map<string, Promise<Credentials | undefined>>();

    constructor(
        private readonly roleArns: Map<string, string | undefined>,
        /** Names the command in the assumed-role session, so CloudTrail shows which one acted. */
        private readonly command: string,
        private readonly sts = new STSClient({}),
    ) {}

    async kms(account: string, region: string) {
        return new KMSClient({ region, credentials: await this.credentialsFor(account), maxAttempts: 1 });
    }

    async drs(account: string, region: string) {
        return new DrsClient({ region, credentials: await this.credentialsFor(account), maxAttempts: 1 });
    }

    async iam(account: string) {
        return new IAMClient({ region: "us-east-1", credentials: await this.credentialsFor(account), maxAttempts: 1 });
    }

    private credentialsFor(account: string): Promise<Credentials | undefined> {
        if (!this.credentials.has(account)) this.credentials.set(account, this.resolve(account));
        return this.credentials.get(account)!;
    }

    private async resolve(account: string): Promise<Credentials | undefined> {
        const roleArn = this.roleArns.get(account);
        try {
            if (roleArn) {
                const { Credentials: c } = await withRetry(() =>
                    this.sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: `drs-cross-account-kms-${this.command}` })),
                );
                if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`AssumeRole ${roleArn} returned no credentials`);
                return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
            }
            const { Account } = await withRetry(() => this.sts.send(new GetCallerIdentityCommand({})));
            if (Account !== account)
                throw new Error(`the current credentials are for account ${Account}, and the config names no roleArn for ${account}`);
            return undefined; // the ambient credentials
        } catch (err) {
            throw new UnreachableAccount(account, (err as Error).message);
        }
    }
}

const throttlingErrors = new Set([
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "ThrottledException",
    "RequestLimitExceeded",
]);

export interface RetryOptions {
    attempts?: number;
    /** Waits between attempts; the tests pass one that does not wait. */
    sleep?: (ms: number) => Promise<void>;
}

let defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** For tests: replace the wait between retries. */
export function setRetrySleep(sleep: (ms: number) => Promise<void>): void {
    defaultSleep = sleep;
}

/** Calls `fn`, retrying throttled calls with exponential backoff (0.2 s, 0.4 s, ...). */
export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
    const attempts = options.attempts ?? 6;
    for (let attempt = 1; ; attempt++) {
        try {
            return await fn();
        } catch (err) {
            const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
            const throttled = throttlingErrors.has(e.name ?? "") || e.$metadata?.httpStatusCode === 429;
            if (!throttled || attempt >= attempts) throw err;
            await (options.sleep ?? defaultSleep)(200 * 2 ** (attempt - 1));
        }
    }
}
