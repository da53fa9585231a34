// AWS clients per account for the commands that talk to AWS (verify, align-servers, drill): the same
// roles the program's providers assume, each client in its entry's Region and partition, the
// SDK's own retry (adaptive: backoff, and a client-side rate that slows down when throttled), and
// a connect and request timeout on every client. Writes go through clients that retry only a
// throttled call: a write whose answer was lost is never sent again by the SDK.
import type { CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { DrsClient } from "@aws-sdk/client-drs";
import type { EC2Client } from "@aws-sdk/client-ec2";
import { IAMClient } from "@aws-sdk/client-iam";
import { KMSClient } from "@aws-sdk/client-kms";
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { AdaptiveRetryStrategy } from "@smithy/util-retry";
import { Partition, partitionOf } from "../../components/policies";
import { NoAwsAccess, UnreachableAccount } from "./faults";
import { ProfileInPlay, profileInPlay, profileProblem } from "./profiles";

type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date };
/** Credentials as the clients take them: fixed, or a provider the SDK asks (and refreshes) itself. */
type ClientCredentials = Credentials | (() => Promise<Credentials>);

/** A profile's credentials, as the SDK's shared-config provider reads them (SSO profiles included). */
export type ProfileCredentials = (profile: string) => () => Promise<Credentials>;
const fromProfile: ProfileCredentials = (profile) => {
    // Loaded only for a stack that names a profile.
    let provider: (() => Promise<Credentials>) | undefined;
    return async () => {
        provider ??= (await import("@aws-sdk/credential-provider-ini")).fromIni({ profile });
        return provider();
    };
};

/** The clients verify and align-servers use, per account and Region. */
export interface AwsAccess {
    kms(account: string, region: string): Promise<KMSClient>;
    drs(account: string, region: string): Promise<DrsClient>;
    /** DRS for writes: throttled calls are retried, nothing else (a lost answer is looked into, not resent). */
    drsWriter(account: string, region: string): Promise<DrsClient>;
    ec2(account: string, region: string): Promise<EC2Client>;
    /** IAM is global within a partition: `region` only says which partition (docs/aws-requirements.md). */
    iam(account: string, region: string): Promise<IAMClient>;
}

/** Clients that act as the identity a drill runs as, in one Region. */
export interface IdentitySession {
    drs: DrsClient;
    /** The same identity's DRS for writes (StartRecovery, TerminateRecoveryInstances): sent once. */
    drsWriter: DrsClient;
    /** For sts:GetCallerIdentity with the same credentials: which identity that really is. */
    sts: STSClient;
}

/** What drill needs beside the clients verify uses: CloudTrail, and the identity the drill runs as. */
export interface DrillAccess extends AwsAccess {
    cloudTrail(account: string, region: string): Promise<CloudTrailClient>;
    /**
     * Clients in `region` with `roleArn` assumed by the current credentials (the session names the
     * command; renewed before it expires, as a drill can outlast it), or with no role, the current
     * credentials as they are. Throws when the role cannot be assumed.
     */
    identity(roleArn: string | undefined, region: string): Promise<IdentitySession>;
}

export function isDrillAccess(access: AwsAccess): access is DrillAccess {
    const a = access as Partial<DrillAccess>;
    return typeof a.cloudTrail === "function" && typeof a.identity === "function";
}

/**
 * The Region IAM's (global) endpoint signs in, per partition: us-east-1, cn-north-1, us-gov-west-1
 * (https://docs.aws.amazon.com/general/latest/gr/iam-service.html).
 */
export const iamRegions: Record<Partition, string> = { aws: "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1" };

/** Attempts per call, the first included: throttled and transient errors are retried by the SDK. */
export const maxAttempts = 6;

/** Options every client gets; the tests pass a request handler and a retry strategy without waits. */
export type ClientOptions = Record<string, unknown>;

/** Seconds to open a connection, and to wait on an open one for its answer (--connect-timeout, --request-timeout). */
export const defaultTimeouts = { connectSeconds: 10, requestSeconds: 60 };

/** The clients' options: adaptive retry, and the timeouts (the SDK's own: none, so a stalled connection waits forever). */
export function clientOptions(timeouts: { connectSeconds: number; requestSeconds: number } = defaultTimeouts): ClientOptions {
    return {
        retryMode: "adaptive",
        maxAttempts,
        requestHandler: { connectionTimeout: timeouts.connectSeconds * 1000, requestTimeout: timeouts.requestSeconds * 1000 },
    };
}

export const defaultClientOptions: ClientOptions = clientOptions();

type RetryStrategy = Pick<AdaptiveRetryStrategy, "acquireInitialRetryToken" | "refreshRetryTokenForRetry" | "recordSuccess">;

/**
 * The retry of a write: only a throttled call, which AWS refused before doing anything, is sent
 * again. Any other failure (a timeout, a lost connection, a 5xx) may have reached AWS and been
 * done: the SDK gives it up at once, and the command looks for what it did.
 */
export class ThrottledOnlyRetry implements RetryStrategy {
    readonly mode = "throttled-only";

    constructor(private readonly inner: RetryStrategy = new AdaptiveRetryStrategy(async () => maxAttempts)) {}

    acquireInitialRetryToken(scope: string) {
        return this.inner.acquireInitialRetryToken(scope);
    }

    refreshRetryTokenForRetry(...[token, info]: Parameters<RetryStrategy["refreshRetryTokenForRetry"]>) {
        if (info.errorType !== "THROTTLING") throw new Error("a write is retried only when throttled");
        return this.inner.refreshRetryTokenForRetry(token, info);
    }

    recordSuccess(token: Parameters<RetryStrategy["recordSuccess"]>[0]) {
        this.inner.recordSuccess(token);
    }
}

/** A client's options for writes: the same, with ThrottledOnlyRetry around the retry it would have. */
export function writerOptions(options: ClientOptions): ClientOptions {
    const given = options.retryStrategy as RetryStrategy | undefined;
    return { ...options, retryStrategy: new ThrottledOnlyRetry(given) };
}

/** Assumed-role credentials are renewed this long before they expire (the SDK refreshes 5 minutes before). */
const renewBeforeMs = 5 * 60 * 1000;

/** What the up-front check found: the account of the current credentials in each partition. */
export interface CallerIdentity {
    partition: Partition;
    account: string;
    arn?: string;
}

/**
 * Credentials per account, as the program's provider signs in: the profile the config names for
 * it (stagingAccounts[].profile, target.profile), else the current credentials; with its roleArn,
 * that role assumed from them; without one, those credentials if they are for that account. STS
 * is called in the Region of the entry that first needs the account (so in its partition).
 */
export class AssumedRoleAccess implements DrillAccess {
    private readonly credentials = new Map<string, Promise<ClientCredentials | undefined>>();
    private readonly stsClients = new Map<string, STSClient>();
    private readonly callers = new Map<string, Promise<string>>();
    private readonly profileProviders = new Map<string, () => Promise<Credentials>>();

    constructor(
        private readonly roleArns: Map<string, string | undefined>,
        /** Names the command in the assumed-role session, so CloudTrail shows which one acted. */
        private readonly command: string,
        /** One STS client for every Region (tests), or none: one per Region (and profile). */
        private readonly sts?: STSClient,
        private readonly clientOptions: ClientOptions = defaultClientOptions,
        /** The profile the config names per account, if any. */
        private readonly profiles: Map<string, string> = new Map(),
        private readonly profileCredentials: ProfileCredentials = fromProfile,
    ) {}

    async kms(account: string, region: string) {
        return new KMSClient({ ...this.clientOptions, region, credentials: await this.credentialsFor(account, region) });
    }

    async drs(account: string, region: string) {
        return new DrsClient({ ...this.clientOptions, region, credentials: await this.credentialsFor(account, region) });
    }

    async drsWriter(account: string, region: string) {
        return new DrsClient({ ...writerOptions(this.clientOptions), region, credentials: await this.credentialsFor(account, region) });
    }

    async ec2(account: string, region: string) {
        // Loaded here: the EC2 client is large, and only some checks read EC2.
        const { EC2Client } = await import("@aws-sdk/client-ec2");
        return new EC2Client({ ...this.clientOptions, region, credentials: await this.credentialsFor(account, region) });
    }

    async iam(account: string, region: string) {
        const iamRegion = iamRegions[partitionOf(region)];
        return new IAMClient({ ...this.clientOptions, region: iamRegion, credentials: await this.credentialsFor(account, region) });
    }

    async cloudTrail(account: string, region: string) {
        // Loaded here: only drill reads CloudTrail, and verify and align-servers start without it.
        const { CloudTrailClient } = await import("@aws-sdk/client-cloudtrail");
        return new CloudTrailClient({ ...this.clientOptions, region, credentials: await this.credentialsFor(account, region) });
    }

    async identity(roleArn: string | undefined, region: string): Promise<IdentitySession> {
        const sts = this.stsIn(region);
        if (!roleArn)
            return {
                drs: new DrsClient({ ...this.clientOptions, region }),
                drsWriter: new DrsClient({ ...writerOptions(this.clientOptions), region }),
                sts,
            };
        const assume = async (): Promise<Credentials> => {
            const { Credentials: c } = await sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: this.sessionName() }));
            if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`AssumeRole ${roleArn} returned no credentials`);
            return {
                accessKeyId: c.AccessKeyId,
                secretAccessKey: c.SecretAccessKey,
                sessionToken: c.SessionToken,
                expiration: c.Expiration,
            };
        };
        // A role that cannot be assumed fails here, once, not at the first DRS call.
        let current = await assume();
        // The SDK asks again shortly before `expiration`: assume the role anew then (a failure is retried at the next ask).
        const credentials = async () => {
            if (current.expiration && current.expiration.getTime() - Date.now() < renewBeforeMs) current = await assume();
            return current;
        };
        return {
            drs: new DrsClient({ ...this.clientOptions, region, credentials }),
            drsWriter: new DrsClient({ ...writerOptions(this.clientOptions), region, credentials }),
            sts: new STSClient({ ...this.clientOptions, region, credentials }),
        };
    }

    /** Names the command in assumed-role sessions, so CloudTrail shows which one acted. */
    private sessionName(): string {
        return `drs-cross-account-kms-${this.command}`;
    }

    /**
     * The up-front check: the current credentials work (sts:GetCallerIdentity, which needs no
     * permission) in each partition of `regions`. Throws NoAwsAccess naming the cause, once.
     */
    async check(regions: string[]): Promise<CallerIdentity[]> {
        const byPartition = new Map<Partition, string>();
        for (const region of regions) if (!byPartition.has(partitionOf(region))) byPartition.set(partitionOf(region), region);
        // The current credentials are needed unless every account signs in with its own profile; each profile is checked too.
        const ambient = [...this.roleArns.keys()].some((account) => !this.profiles.has(account)) || this.profiles.size === 0;
        const found: CallerIdentity[] = [];
        for (const profile of [...(ambient ? [undefined] : []), ...new Set(this.profiles.values())])
            for (const [partition, region] of byPartition) {
                try {
                    found.push({ partition, account: await this.caller(region, profile) });
                } catch (err) {
                    throw new NoAwsAccess(describeAccessFailure(err as Error, region, await profileInPlay(profile, profileKey)));
                }
            }
        return found;
    }

    /** STS in `region`, with a profile's credentials or the current ones. */
    private stsIn(region: string, profile?: string): STSClient {
        if (this.sts) return this.sts;
        const key = `${profile ?? ""} ${region}`;
        let client = this.stsClients.get(key);
        if (!client) {
            client = new STSClient({ ...this.clientOptions, region, ...(profile ? { credentials: this.providerOf(profile) } : {}) });
            this.stsClients.set(key, client);
        }
        return client;
    }

    /** One provider per profile: the SDK caches what it returns until it expires. */
    private providerOf(profile: string): () => Promise<Credentials> {
        let provider = this.profileProviders.get(profile);
        if (!provider) {
            provider = this.profileCredentials(profile);
            this.profileProviders.set(profile, provider);
        }
        return provider;
    }

    /** The account of the current credentials (or a profile's) in the partition of `region`, asked once. */
    private caller(region: string, profile?: string): Promise<string> {
        const key = `${profile ?? ""} ${partitionOf(region)}`;
        let account = this.callers.get(key);
        if (!account) {
            account = this.stsIn(region, profile)
                .send(new GetCallerIdentityCommand({}))
                .then(({ Account }) => Account ?? "");
            this.callers.set(key, account);
        }
        return account;
    }

    private credentialsFor(account: string, region: string): Promise<ClientCredentials | undefined> {
        if (!this.credentials.has(account)) this.credentials.set(account, this.resolve(account, region));
        return this.credentials.get(account)!;
    }

    private async resolve(account: string, region: string): Promise<ClientCredentials | undefined> {
        const roleArn = this.roleArns.get(account);
        const profile = this.profiles.get(account);
        const from = profile ? ` from the profile ${profile}` : "";
        if (roleArn) {
            try {
                const { Credentials: c } = await this.stsIn(region, profile).send(
                    new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: this.sessionName() }),
                );
                if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`AssumeRole ${roleArn} returned no credentials`);
                return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
            } catch (err) {
                if (profile && (err as Error).name === "CredentialsProviderError")
                    throw new UnreachableAccount(
                        account,
                        describeAccessFailure(err as Error, region, await profileInPlay(profile, profileKey)),
                        `Sign in with the profile ${profile}, or correct ${profileKey}.`,
                    );
                throw new UnreachableAccount(
                    account,
                    `assuming ${roleArn}${from} failed (${(err as Error).name}: ${(err as Error).message})`,
                    `Let your credentials assume ${roleArn} (sts:AssumeRole, and the role's trust policy), or correct roleArn in the stack config.`,
                );
            }
        }
        let current: string;
        try {
            current = await this.caller(region, profile);
        } catch (err) {
            throw new UnreachableAccount(
                account,
                describeAccessFailure(err as Error, region, await profileInPlay(profile, profileKey)),
                profile ? `Sign in with the profile ${profile}, or correct ${profileKey}.` : "Run with working AWS credentials.",
            );
        }
        if (current !== account)
            throw new UnreachableAccount(
                account,
                profile
                    ? `the profile ${profile} signs in to account ${current}, not ${account}`
                    : `the current credentials are for account ${current}, and the config names no roleArn for ${account}`,
                profile ? `Name a profile of account ${account} in ${profileKey}, or give a roleArn to assume from it.` : undefined,
            );
        return profile ? this.providerOf(profile) : undefined; // the profile's, or the current credentials
    }
}

/** Where the stack config names an account's profile. */
const profileKey = "stagingAccounts[].profile or target.profile";

/**
 * Why the SDK could not call AWS, in one line with what to do; `profile`, the profile the
 * credentials were to come from (profileInPlay: AWS_PROFILE or the config's), when there is one.
 */
export function describeAccessFailure(err: Error, region: string, profile?: ProfileInPlay): string {
    const name = err.name ?? "Error";
    const code = (err as NodeJS.ErrnoException).code;
    const said = `${name}: ${err.message.split("\n")[0]}`;
    // An unknown or signed-out profile is named, not met with "set AWS_PROFILE".
    if (name === "CredentialsProviderError" && profile) return profileProblem(profile, said);
    if (name === "CredentialsProviderError")
        return `No AWS credentials found (environment, shared config and credentials files, SSO, container or instance role): sign in (aws sso login, or set AWS_PROFILE) and run again. (${said})`;
    if (/^ExpiredToken(Exception)?$/.test(name) || name === "TokenRefreshRequired")
        return `The AWS credentials have expired: refresh them (aws sso login, or new session credentials) and run again. (${said})`;
    if (/^(InvalidClientTokenId|UnrecognizedClientException|SignatureDoesNotMatch|InvalidAccessKeyId|IncompleteSignature)$/.test(name))
        return `The AWS credentials are not valid in ${partitionOf(region)} (${region}): check AWS_PROFILE or the access keys in use. (${said})`;
    if (code && /^(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)$/.test(code))
        return `Cannot reach AWS STS in ${region} (${code}): check the network, proxy or VPC endpoint.`;
    if (name === "TimeoutError") return `AWS STS in ${region} did not answer in time: check the network, proxy or VPC endpoint. (${said})`;
    return `Calling AWS STS in ${region} failed: ${said}`;
}
