// Runs the program under Pulumi mocks: records every registration (type, name, inputs, provider,
// options) and answers with realistic IDs and ARNs derived from the resource's account and Region.
// Shared by the tests (tests/support/mocks.ts) and the offline plan (plan/synth.ts).
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { drsServiceLinkedRoleName, partitionOf, providerAccountId } from "../components/policies";

export interface Registration {
    type: string;
    id?: string;
    name: string;
    urn: string;
    custom: boolean;
    inputs: Record<string, any>;
    state: Record<string, any>;
    /** The provider resource's name (e.g. aws-staging-444455556666), if any. */
    provider?: string;
    /** The provider resource's URN, if any. */
    providerUrn?: string;
    /** The parent component's URN, if any. */
    parentUrn?: string;
    /** The account the provider is pinned to (allowedAccountIds). */
    account?: string;
    protect: boolean;
    importId?: string;
    retainOnDelete: boolean;
    /** The names the resource was known by before (its aliases' names), if any. */
    aliases?: string[];
}

/** What the monitor wrapper sees of a registration that the mocks' arguments leave out. */
interface NotedOptions {
    protect: boolean;
    importId?: string;
    retainOnDelete: boolean;
    urn: string;
    parent?: string;
    aliases?: string[];
}

const unknownInvoke = (token: string) => new Error(`The mocks do not know the invoke ${token}; add it to tests/support/mocks.ts.`);

export class RecordingMocks implements pulumi.runtime.Mocks {
    readonly registrations: Registration[] = [];
    private readonly options = new Map<string, NotedOptions>();
    private readonly providersByRef = new Map<string, Registration>();

    /** Stack references the program asked for that stackOutputs did not have (answered with no outputs). */
    readonly missingStacks: string[] = [];

    constructor(
        private readonly stackOutputs: Record<string, Record<string, unknown>> = {},
        private readonly aws: MockAws = {},
    ) {}

    /** Called by the monitor wrapper with what the mocks' args leave out. */
    noteOptions(type: string, name: string, options: NotedOptions) {
        this.options.set(`${type}::${name}`, options);
    }

    /**
     * The SDK swallows a mock's exception and waits forever, and a failed Output surfaces only
     * as an unhandled rejection (which the Pulumi CLI reports): record either, and fail the run.
     */
    readonly errors: Error[] = [];
    failNow: (err: Error) => void = () => undefined;
    readonly failed = new Promise<never>((_, reject) => (this.failNow = reject));

    newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, any> } {
        return this.failLoudly(() => this.record(args));
    }

    private record(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, any> } {
        const opts = this.options.get(`${args.type}::${args.name}`)!;
        const providerReg = args.provider ? this.providersByRef.get(args.provider) : undefined;
        const account = providerReg ? providerAccountId(providerReg.inputs.allowedAccountIds) : undefined;
        const region: string = args.inputs.region ?? providerReg?.inputs.region ?? "us-east-1";
        const { id, state } = this.answer(args, account ?? "000000000000", region, opts.importId);
        const registration: Registration = {
            type: args.type,
            id,
            name: args.name,
            urn: opts.urn,
            custom: args.custom ?? true,
            inputs: args.inputs,
            state,
            provider: providerReg?.name,
            providerUrn: providerReg?.urn,
            parentUrn: opts.parent || undefined,
            account,
            protect: opts.protect,
            importId: opts.importId || undefined,
            retainOnDelete: opts.retainOnDelete,
            ...(opts.aliases?.length ? { aliases: opts.aliases } : {}),
        };
        this.registrations.push(registration);
        if (args.type.startsWith("pulumi:providers:")) this.providersByRef.set(`${opts.urn}::${id}`, registration);
        return { id, state };
    }

    /** Every invoke (data source read), with the account of the provider it used. */
    readonly invokes: { token: string; account?: string; inputs: Record<string, any> }[] = [];

    call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        const providerInputs = args.provider ? (this.providersByRef.get(args.provider)?.inputs ?? {}) : {};
        const account = providerAccountId(providerInputs.allowedAccountIds);
        this.invokes.push({ token: args.token, account, inputs: args.inputs });
        const region: string = args.inputs.region ?? providerInputs.region ?? "us-east-1";
        // What AWS says does not exist is an answer the program must handle, not a mock failure
        // (the engine hands an invoke's error over in the gRPC details).
        const missing = (what: string) => {
            const message = `reading ${what}: couldn't find resource`;
            return Object.assign(new Error(message), { details: message });
        };
        if (args.token === "aws:iam/getRole:getRole" && args.inputs.name === drsServiceLinkedRoleName) {
            if (this.aws.drsUninitialised?.includes(account!)) throw missing(`IAM Role (${drsServiceLinkedRoleName})`);
        }
        if (args.token === "aws:kms/getKey:getKey") {
            const key = this.existingKey(account!, region, args.inputs.keyId);
            if (!key) throw missing(`KMS Key (${args.inputs.keyId})`);
            return key;
        }
        if (args.token === "aws:kms/getAlias:getAlias") {
            const key = (this.aws.existingKeys ?? []).find(
                (k) => k.accountId === account && k.region === region && k.alias === args.inputs.name,
            );
            if (!key) throw missing(`KMS Alias (${args.inputs.name})`);
            const targetKeyArn = mockKeyArn(key);
            return {
                id: args.inputs.name,
                name: args.inputs.name,
                arn: `${targetKeyArn.split(":key/")[0]}:${args.inputs.name}`,
                targetKeyArn,
                targetKeyId: key.keyId,
            };
        }
        return this.failLoudly(() => this.invoke(args));
    }

    /** The mocks assume each key asked for exists (mrk-: the first Region asked is the primary), unless told which keys exist. */
    private readonly assumedKeys: MockKey[] = [];

    private existingKey(accountId: string, region: string, keyIdOrArn: string): Record<string, any> | undefined {
        const keyId = keyIdOrArn.split("/").pop()!;
        const matches = (k: MockKey) => k.accountId === accountId && k.region === region && k.keyId === keyId;
        let key = (this.aws.existingKeys ?? this.assumedKeys).find(matches);
        if (!key && !this.aws.existingKeys) {
            const primary = keyId.startsWith("mrk-")
                ? this.assumedKeys.find((k) => k.accountId === accountId && k.keyId === keyId)
                : undefined;
            key = {
                accountId,
                region,
                keyId,
                multiRegionKeyType: keyId.startsWith("mrk-") ? (primary ? "REPLICA" : "PRIMARY") : undefined,
                primaryRegion: primary?.region,
            };
            this.assumedKeys.push(key);
        }
        if (!key) return undefined;
        const primaryRegion = key.primaryRegion ?? key.region;
        return {
            id: key.keyId,
            keyId: keyIdOrArn,
            arn: mockKeyArn(key),
            keyManager: key.keyManager ?? "CUSTOMER",
            keySpec: key.keySpec ?? "SYMMETRIC_DEFAULT",
            customerMasterKeySpec: key.keySpec ?? "SYMMETRIC_DEFAULT",
            keyUsage: "ENCRYPT_DECRYPT",
            keyState: key.keyState ?? "Enabled",
            origin: key.origin ?? "AWS_KMS",
            multiRegion: key.multiRegionKeyType !== undefined,
            multiRegionConfigurations: key.multiRegionKeyType
                ? [
                      {
                          multiRegionKeyType: key.multiRegionKeyType,
                          primaryKeys: [{ arn: mockKeyArn({ ...key, region: primaryRegion }), region: primaryRegion }],
                          replicaKeys: [],
                      },
                  ]
                : [],
            region,
        };
    }

    private failLoudly<T>(answer: () => T): T {
        try {
            return answer();
        } catch (err) {
            this.errors.push(err as Error);
            this.failNow(err as Error);
            throw err;
        }
    }

    private invoke(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        if (args.token === "aws:iam/getRole:getRole") {
            const account = args.provider ? providerAccountId(this.providersByRef.get(args.provider)?.inputs.allowedAccountIds) : undefined;
            if (!account) throw new Error("aws:iam/getRole:getRole was invoked without an explicit provider");
            const name: string = args.inputs.name;
            const path = name === drsServiceLinkedRoleName ? "/aws-service-role/drs.amazonaws.com/" : "/service-role/";
            return {
                id: name,
                name,
                arn: `arn:aws:iam::${account}:role${path}${name}`,
                path,
                uniqueId: uniqueId(`existing:${account}:${name}`),
            };
        }
        throw unknownInvoke(args.token);
    }

    private answer(args: pulumi.runtime.MockResourceArgs, account: string, region: string, importId?: string) {
        const inputs = args.inputs;
        const seed = `${args.type}:${args.name}`;
        if (args.custom === false) return { id: undefined, state: {} }; // a component
        switch (args.type) {
            case "pulumi:providers:aws":
            case "pulumi:providers:aws-native":
                return { id: uuid(seed), state: inputs };
            case "aws-native:drs:LaunchConfigurationTemplate": {
                const id = importId || `lct-${hex(seed, 17)}`;
                return {
                    id,
                    state: {
                        ...inputs,
                        launchConfigurationTemplateId: id,
                        arn: `arn:aws:drs:${region}:${account}:launch-configuration-template/${id}`,
                    },
                };
            }
            case "pulumi:pulumi:StackReference": {
                const outputs = this.stackOutputs[inputs.name];
                if (!outputs) this.missingStacks.push(inputs.name);
                return { id: inputs.name, state: { name: inputs.name, outputs: outputs ?? {}, secretOutputNames: [] } };
            }
            case "aws:kms/key:Key": {
                const keyId = importId?.split("@")[0] || (inputs.multiRegion ? `mrk-${hex(seed, 32)}` : uuid(seed));
                return { id: keyId, state: { ...inputs, keyId, arn: mockKeyArn({ accountId: account, region, keyId }) } };
            }
            case "aws:kms/replicaKey:ReplicaKey": {
                // A replica has its primary's key ID, in its own Region.
                const keyId = importId?.split("@")[0] || String(inputs.primaryKeyArn).split("/").pop()!;
                return { id: keyId, state: { ...inputs, keyId, arn: mockKeyArn({ accountId: account, region, keyId }) } };
            }
            case "aws:kms/alias:Alias":
                return { id: inputs.name, state: { ...inputs, arn: `arn:${partitionOf(region)}:kms:${region}:${account}:${inputs.name}` } };
            case "aws:iam/role:Role": {
                const arn = `arn:aws:iam::${account}:role${inputs.path ?? "/"}${inputs.name}`;
                return { id: inputs.name, state: { ...inputs, arn, uniqueId: uniqueId(seed) } };
            }
            case "aws:iam/policy:Policy": {
                const name = inputs.name ?? `${args.name}-${hex(seed, 7)}`;
                const arn = `arn:aws:iam::${account}:policy/${name}`;
                return { id: arn, state: { ...inputs, name, arn } };
            }
            case "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
                return { id: `${inputs.role}/${inputs.policyArn}`, state: inputs };
            case "aws:drs/replicationConfigurationTemplate:ReplicationConfigurationTemplate": {
                const id = importId || `rct-${hex(seed, 17)}`;
                return { id, state: { ...inputs, arn: `arn:aws:drs:${region}:${account}:replication-configuration-template/${id}` } };
            }
            case "aws:sns/topic:Topic": {
                const name = inputs.name ?? `${args.name}-${hex(seed, 7)}`;
                const arn = `arn:aws:sns:${region}:${account}:${name}`;
                return { id: arn, state: { ...inputs, name, arn } };
            }
            case "aws:sns/topicPolicy:TopicPolicy":
                return { id: inputs.arn, state: inputs };
            case "aws:cloudwatch/eventRule:EventRule": {
                const name = inputs.name ?? `${args.name}-${hex(seed, 7)}`;
                return { id: name, state: { ...inputs, name, arn: `arn:aws:events:${region}:${account}:rule/${name}` } };
            }
            case "aws:ssoadmin/customerManagedPolicyAttachment:CustomerManagedPolicyAttachment": {
                const ref = inputs.customerManagedPolicyReference;
                return { id: [ref.name, ref.path, inputs.permissionSetArn, inputs.instanceArn].join(","), state: inputs };
            }
            case "aws:cloudwatch/eventTarget:EventTarget":
                return { id: `${inputs.rule}-${hex(seed, 7)}`, state: inputs };
            default:
                throw new Error(`The mocks do not know the resource type ${args.type}; add it to tests/support/mocks.ts.`);
        }
    }
}

/** What the mocked AWS holds beyond what the program creates. */
export interface MockAws {
    /** Staging accounts where DRS was never initialised (their DRS service-linked role is missing). */
    drsUninitialised?: string[];
    /**
     * The keys that exist, for the key lookups (importKeyId, and aliases with key.multiRegion). When
     * left out, every key asked for exists (an mrk- ID is the primary in the first Region asked) and
     * no alias does.
     */
    existingKeys?: MockKey[];
}

export interface MockKey {
    accountId: string;
    region: string;
    keyId: string;
    /** An alias in its account and Region that points to it. */
    alias?: string;
    multiRegionKeyType?: "PRIMARY" | "REPLICA";
    /** A replica's primary Region. */
    primaryRegion?: string;
    keyState?: string;
    keyManager?: string;
    keySpec?: string;
    origin?: string;
}

function mockKeyArn(key: Pick<MockKey, "accountId" | "region" | "keyId">): string {
    return `arn:${partitionOf(key.region)}:kms:${key.region}:${key.accountId}:key/${key.keyId}`;
}

function hex(seed: string, length: number): string {
    return createHash("sha256").update(seed).digest("hex").slice(0, length);
}

function uuid(seed: string): string {
    const h = hex(seed, 32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function uniqueId(seed: string): string {
    return `AROA${hex(seed, 17).toUpperCase()}`;
}

/** Installs the mocks, and a monitor wrapper that records the resource options mocks do not see. */
export async function installMocks(
    stackOutputs: Record<string, Record<string, unknown>> = {},
    stack = "test",
    project = "drs-cross-account-kms",
    aws: MockAws = {},
): Promise<RecordingMocks> {
    const mocks = new RecordingMocks(stackOutputs, aws);
    mocks.failed.catch(() => undefined); // observed by runProgram; not an unhandled rejection
    await pulumi.runtime.setMocks(mocks, project, stack, false);
    const monitor = pulumi.runtime.getMonitor() as any;
    const registerResource = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: any) => {
        mocks.noteOptions(req.getType(), req.getName(), {
            protect: Boolean(req.getProtect()),
            importId: req.getImportid(),
            retainOnDelete: Boolean(req.getRetainondelete()),
            urn: monitor.newUrn(req.getParent(), req.getType(), req.getName()),
            parent: req.getParent(),
            aliases: [
                ...req.getAliasurnsList(),
                ...req.getAliasesList().map((alias: any) => alias.getUrn() || alias.getSpec()?.getName()),
            ].filter(Boolean),
        });
        return registerResource(req, callback);
    };
    // Reads (a StackReference) have no resource options, only a URN.
    const readResource = monitor.readResource.bind(monitor);
    monitor.readResource = (req: any, callback: any) => {
        mocks.noteOptions(req.getType(), req.getName(), {
            protect: false,
            retainOnDelete: false,
            urn: monitor.newUrn(req.getParent(), req.getType(), req.getName()),
        });
        return readResource(req, callback);
    };
    return mocks;
}

/** The value of an Output (or plain value); rejects when the Output failed. */
export function unwrap<T>(value: pulumi.Input<T>): Promise<pulumi.Unwrap<T>> {
    // Output.promise() is internal to the SDK, but unlike apply() it rejects on failure.
    return (pulumi.output(value) as any).promise();
}

/** Waits until every registration the program started has been answered. */
export async function settle(): Promise<void> {
    // waitForRPCs is internal to the SDK (not in its type declarations).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const settings = require("@pulumi/pulumi/runtime/settings");
    await settings.waitForRPCs();
}

export interface ProgramRun {
    mocks: RecordingMocks;
    outputs: Record<string, unknown>;
    warnings: string[];
}

export interface RunOptions {
    project?: string;
    stack?: string;
    /** Outputs of the stacks the program may reference, by stack name. */
    stackOutputs?: Record<string, Record<string, unknown>>;
    /** What the mocked AWS holds beyond what the program creates. */
    aws?: MockAws;
    /** Called with the mocks before the program runs (to inspect them if the run fails). */
    onStart?: (mocks: RecordingMocks) => void;
    /**
     * Default true. The SDK records a stack trace for every promise it makes (to report leaks);
     * a plan has no use for them, and formatting them is a fifth of a large plan's time.
     */
    stackTraces?: boolean;
}

const programPath = require.resolve("../index");

/**
 * Runs index.ts under mocks with the given config (full keys, such as
 * `drs-cross-account-kms:deploy`; values as in a stack file) and collects its outputs.
 */
export async function runProgram(config: Record<string, unknown>, options: RunOptions = {}): Promise<ProgramRun> {
    const mocks = await installMocks(options.stackOutputs, options.stack, options.project, options.aws);
    options.onStart?.(mocks);
    const allConfig: Record<string, string> = {};
    for (const [key, value] of Object.entries(config)) allConfig[key] = typeof value === "string" ? value : JSON.stringify(value);
    pulumi.runtime.setAllConfig(allConfig);
    const warnings: string[] = [];
    const warn = pulumi.log.warn;
    (pulumi.log as any).warn = (message: string) => warnings.push(message);
    const onUnhandled = (reason: unknown) => mocks.failNow(reason instanceof Error ? reason : new Error(String(reason)));
    process.on("unhandledRejection", onUnhandled);
    const stackTraceLimit = Error.stackTraceLimit;
    if (options.stackTraces === false) Error.stackTraceLimit = 0;
    try {
        delete require.cache[programPath];
        // A fresh copy of the program for every run: require, after dropping it from the cache.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const program = require(programPath);
        const exports = await Promise.race([typeof program === "function" ? program() : program, mocks.failed]);
        const outputs: Record<string, unknown> = {};
        for (const [key, value] of Object.entries(exports as Record<string, unknown>)) {
            if (value !== undefined) outputs[key] = await Promise.race([unwrap(value as pulumi.Input<unknown>), mocks.failed]);
        }
        await Promise.race([settle(), mocks.failed]);
        return { mocks, outputs, warnings };
    } catch (err) {
        // A failed run leaves registrations pending forever; forget them so the runtime does not
        // report them as leaked promises when the process exits.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require("@pulumi/pulumi/runtime/debuggable").leakedPromises();
        throw err;
    } finally {
        Error.stackTraceLimit = stackTraceLimit;
        (pulumi.log as any).warn = warn;
        process.off("unhandledRejection", onUnhandled);
    }
}
