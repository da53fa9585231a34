// A target DRS and a staging DRS, mocked, for extend: the staging account's servers (replication
// state, EBS encryption), and the target's extended servers, which CreateExtendedSourceServer adds
// to. tests/ops/extend.spec.ts runs against it; extendWorld() and runExtend()/runExtendCli() are
// for any other test that needs the extend command on mocked accounts.
import {
    CreateExtendedSourceServerCommand,
    DescribeSourceServersCommand,
    DrsClient,
    GetReplicationConfigurationCommand,
    ListExtensibleSourceServersCommand,
    SourceServer,
} from "@aws-sdk/client-drs";
import { mockClient } from "aws-sdk-client-mock";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { run as runCli } from "../../cli";
import { AwsAccess } from "../../ops/aws/access";
import { UnreachableAccount } from "../../ops/aws/faults";
import { ExtendInput, ExtendOptions, extend, extendTags } from "../../ops/extend";
import { StagingKeyExport } from "../../program/contract";
import { fakeClock } from "./alignWorld";

export const target = "111122223333";
export const staging = "444455556666";
export const region = "us-east-1";
export const keyId = "1234abcd-12ab-34cd-56ef-1234567890ab";
export const keyArn = `arn:aws:kms:${region}:${staging}:key/${keyId}`;
export const otherKeyArn = `arn:aws:kms:${region}:${staging}:key/0987dcba-09fe-87dc-65ba-ab0987654321`;
export const key: StagingKeyExport = {
    accountId: staging,
    region,
    keyId,
    keyArn,
    aliasName: "alias/drs-cross-account-ebs",
    stagingRoleArn: `arn:aws:iam::${staging}:role/service-role/DRSStagingAccountRole_${target}`,
};
/** A staging server's ARN, as ListExtensibleSourceServers and stagingArea name it. */
export const arnOf = (id: string, account = staging) => `arn:aws:drs:${region}:${account}:source-server/${id}`;

/** A source server of the staging account, and what the target knows of it. */
export interface StagingFake {
    id: string;
    hostname: string;
    /** Default: CUSTOM on the entry's key. */
    ebsEncryption?: "DEFAULT" | "CUSTOM" | "NONE";
    ebsEncryptionKeyArn?: string;
    /** dataReplicationState; default CONTINUOUS. */
    state?: string;
    /** Extended into the target already, with this status there. */
    extended?: "EXTENDED" | "EXTENSION_ERROR" | "NOT_EXTENDED";
    /** Not extended, yet left out of ListExtensibleSourceServers. */
    unlisted?: boolean;
    /** An EC2 source: the account its instance runs in. */
    originAccountId?: string;
}

export const [web, db, app, files, batchServer, spare] = [
    "s-0123456789abcd001",
    "s-0123456789abcd002",
    "s-0123456789abcd003",
    "s-0123456789abcd004",
    "s-0123456789abcd005",
    "s-0123456789abcd006",
];

/** web-1 and db-1 ready to extend (db-1 still in its initial sync), app-1 extended already, files-1 on aws/ebs, batch-1 stalled. */
export const fleet = (): StagingFake[] => [
    { id: web, hostname: "web-1" },
    { id: db, hostname: "db-1", state: "INITIAL_SYNC" },
    { id: app, hostname: "app-1", extended: "EXTENDED" },
    { id: files, hostname: "files-1", ebsEncryption: "DEFAULT" },
    { id: batchServer, hostname: "batch-1", state: "STALLED" },
];

/** Three servers ready to extend, none extended yet. */
export const readyFleet = (): StagingFake[] => [
    { id: web, hostname: "web-1" },
    { id: db, hostname: "db-1" },
    { id: spare, hostname: "spare-1" },
];

export const awsError = (name: string, message = name, extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(message), { name, ...extra });
export const denied = (action: string, account = target) =>
    awsError(
        "AccessDeniedException",
        `User: arn:aws:sts::${account}:assumed-role/Ops/me is not authorized to perform: ${action} on resource: arn:aws:drs:${region}:${account}:source-server/*`,
        { $fault: "client", $metadata: { httpStatusCode: 403 } },
    );
/** DRS's refusal of a server on the default EBS key. */
export const defaultKeyRefusal = (id: string) =>
    awsError("ValidationException", `Source server ${arnOf(id)} cannot be extended if it has the default EBS encryption key`, {
        $fault: "client",
        $metadata: { httpStatusCode: 400 },
    });
/** A lost answer: the connection reset, no status. */
export const lostAnswer = () => Object.assign(new Error("socket hang up"), { name: "Error", code: "ECONNRESET" });

export interface WorldOptions {
    /** ListExtensibleSourceServers' items per page (default: all on one page). */
    pageSize?: number;
}

/**
 * The two accounts. CreateExtendedSourceServer adds an extended server to the target (refusing a
 * server on the default key as DRS does, and one extended already); `failing` makes it throw for a
 * staging ID instead; `lost` makes it create, then lose the answer; `settling` gives a created
 * server's stagingArea status, one per read back by ID (the last one stays; default EXTENDED).
 * `stagingReachable = false` makes the staging account unreachable, as with no role for it.
 */
export function extendWorld(servers: StagingFake[] = fleet(), options: WorldOptions = {}) {
    const targetDrs = new DrsClient({ region });
    const stagingDrs = new DrsClient({ region });
    const targetMock = mockClient(targetDrs);
    const stagingMock = mockClient(stagingDrs);
    let made = 0;
    const nextId = () => `s-e${String(++made).padStart(16, "0")}`;
    const extendedServer = (s: StagingFake, status: string, id = nextId(), tags?: Record<string, string>): SourceServer => ({
        sourceServerID: id,
        arn: `arn:aws:drs:${region}:${target}:source-server/${id}`,
        sourceProperties: { identificationHints: { hostname: s.hostname } },
        stagingArea: {
            status: status as never,
            stagingAccountID: staging,
            stagingSourceServerArn: arnOf(s.id),
            ...(status === "EXTENSION_ERROR" ? { errorMessage: "Failed to access the staging source server" } : {}),
        },
        ...(tags ? { tags } : {}),
    });
    /** The target's extended servers by staging ID. */
    const extended = new Map<string, SourceServer>(servers.filter((s) => s.extended).map((s) => [s.id, extendedServer(s, s.extended!)]));
    const failing = new Map<string, Error>();
    const lost = new Set<string>();
    const settling = new Map<string, string[]>();
    const world = { stagingReachable: true, roles: undefined as Map<string, string | undefined> | undefined };
    const byId = (id: string) => servers.find((s) => s.id === id);

    stagingMock.on(DescribeSourceServersCommand).callsFake(async (input: { filters?: { sourceServerIDs?: string[] } }) => ({
        items: servers
            .filter((s) => !input.filters?.sourceServerIDs || input.filters.sourceServerIDs.includes(s.id))
            .map((s) => ({
                sourceServerID: s.id,
                arn: arnOf(s.id),
                sourceProperties: { identificationHints: { hostname: s.hostname } },
                stagingArea: { status: "NOT_EXTENDED" },
                dataReplicationInfo: { dataReplicationState: (s.state ?? "CONTINUOUS") as never },
                ...(s.originAccountId ? { sourceCloudProperties: { originAccountID: s.originAccountId } } : {}),
            })),
    }));
    stagingMock.on(GetReplicationConfigurationCommand).callsFake(async (input: { sourceServerID: string }) => {
        const s = byId(input.sourceServerID)!;
        const encryption = s.ebsEncryption ?? "CUSTOM";
        return {
            sourceServerID: s.id,
            ebsEncryption: encryption,
            ...(encryption === "CUSTOM" ? { ebsEncryptionKeyArn: s.ebsEncryptionKeyArn ?? keyArn } : {}),
        };
    });

    targetMock.on(ListExtensibleSourceServersCommand).callsFake(async (input: { stagingAccountID: string; nextToken?: string }) => {
        const listed = input.stagingAccountID === staging ? servers.filter((s) => !extended.has(s.id) && !s.unlisted) : [];
        const size = options.pageSize ?? (listed.length || 1);
        const start = input.nextToken ? Number(input.nextToken.replace("page-", "")) : 0;
        const page = listed.slice(start, start + size);
        return {
            items: page.map((s) => ({ arn: arnOf(s.id), hostname: s.hostname, tags: { Owner: "staging-team" } })),
            ...(start + size < listed.length ? { nextToken: `page-${start + size}` } : {}),
        };
    });
    targetMock
        .on(DescribeSourceServersCommand)
        .callsFake(async (input: { filters?: { sourceServerIDs?: string[]; stagingAccountIDs?: string[] } }) => {
            const { sourceServerIDs, stagingAccountIDs } = input.filters ?? {};
            const items = [...extended.entries()]
                .filter(([, s]) => !stagingAccountIDs || stagingAccountIDs.includes(s.stagingArea!.stagingAccountID!))
                .filter(([, s]) => !sourceServerIDs || sourceServerIDs.includes(s.sourceServerID!))
                .map(([id, s]) => {
                    const seen = sourceServerIDs ? settling.get(id) : undefined;
                    const status = seen && seen.length > 1 ? seen.shift()! : seen?.[0];
                    return status ? { ...s, stagingArea: { ...s.stagingArea, status: status as never } } : s;
                });
            return { items };
        });
    targetMock
        .on(CreateExtendedSourceServerCommand)
        .callsFake(async (input: { sourceServerArn: string; tags?: Record<string, string> }) => {
            const id = /source-server\/(s-\w+)$/.exec(input.sourceServerArn)?.[1] ?? "";
            const error = failing.get(id);
            if (error) throw error;
            const s = byId(id);
            if (!s) throw awsError("ResourceNotFoundException", `Source server ${input.sourceServerArn} not found`, { $fault: "client" });
            if (extended.has(id))
                throw awsError("ConflictException", `Source server ${input.sourceServerArn} is already extended`, { $fault: "client" });
            if (s.ebsEncryption === "DEFAULT") throw defaultKeyRefusal(id);
            const server = extendedServer(s, settling.get(id)?.at(-1) ?? "EXTENDED", undefined, input.tags);
            extended.set(id, server);
            if (lost.has(id)) throw lostAnswer();
            return { sourceServer: { ...server, stagingArea: { ...server.stagingArea, status: "NOT_EXTENDED" } } };
        });

    const drsOf = async (account: string) => {
        if (account === target) return targetDrs;
        if (account === staging) {
            if (!world.stagingReachable)
                throw new UnreachableAccount(
                    account,
                    `the current credentials are for account ${target}, and the config names no roleArn for ${account}`,
                );
            return stagingDrs;
        }
        throw new UnreachableAccount(account, "not an account of this world");
    };
    const access: AwsAccess = {
        drs: drsOf,
        // Writes go through their own client in the real access; here the same mocked account.
        drsWriter: drsOf,
        kms: async () => {
            throw new Error("extend never uses KMS");
        },
        ec2: async () => {
            throw new Error("extend never uses EC2");
        },
        iam: async () => {
            throw new Error("extend never uses IAM");
        },
    };
    return Object.assign(world, { access, targetMock, stagingMock, servers, extended, failing, lost, settling });
}

export type ExtendWorld = ReturnType<typeof extendWorld>;

/** The CreateExtendedSourceServer inputs the target received. */
export const creates = (w: ExtendWorld) => w.targetMock.commandCalls(CreateExtendedSourceServerCommand).map((c) => c.args[0].input);
/** The staging IDs of the servers DRS was asked to extend, in order. */
export const createdIds = (w: ExtendWorld) => creates(w).map((i) => /source-server\/(s-\w+)$/.exec(i.sourceServerArn ?? "")?.[1]);

/** The fake clock the align-servers tests use: sleeping moves time on at once, and is recorded. */
export { fakeClock };

/** The input a target stack gives extend: the one key, the stack's default tags, align-servers' stack "staging". */
export const input = (changes: Partial<ExtendInput> = {}): ExtendInput => ({
    targetAccountId: target,
    keys: [key],
    tags: extendTags(),
    stagingStack: "staging",
    ...changes,
});

/** Runs the command's core on the world with a fake clock; returns exit code, stdout and stderr. */
export async function runExtend(w: ExtendWorld, options: Partial<ExtendOptions> = {}, given: ExtendInput = input()) {
    let out = "";
    let err = "";
    const code = await extend(
        given,
        w.access,
        { apply: false, json: false, clock: fakeClock().clock, ...options },
        { out: (t) => void (out += t), err: (t) => void (err += t) },
    );
    return { code, out, err };
}

/**
 * A project folder with a target stack (Pulumi.yaml, Pulumi.target.yaml with `tags` and
 * `extraConfig` lines, and `pulumi stack output --json` as outputs.json), for runExtendCli.
 */
export function writeTargetStack(extraConfig = "") {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drs-extend-"));
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: drs-cross-account-kms\nruntime: nodejs\n");
    fs.writeFileSync(
        path.join(dir, "Pulumi.target.yaml"),
        "config:\n  drs-cross-account-kms:deploy: target\n" +
            `  drs-cross-account-kms:target:\n    accountId: "${target}"\n    keyUserRoleNames: [DrsRecoveryOperator]\n` +
            "  drs-cross-account-kms:stagingStacks: [organization/drs-cross-account-kms/staging]\n" +
            "  drs-cross-account-kms:tags:\n    CostCentre: dr-1234\n" +
            extraConfig,
    );
    const outputsFile = path.join(dir, "outputs.json");
    fs.writeFileSync(
        outputsFile,
        JSON.stringify({ deploy: "target", targetAccountId: target, targetAccess: "documented", stagingKeys: [key] }),
    );
    return { dir, outputsFile };
}

/** A `deploy: staging` stack file (Pulumi.staging.yaml) beside the target stack's: extend refuses such a stack. */
export function writeStagingStackFile(dir: string) {
    fs.writeFileSync(
        path.join(dir, "Pulumi.staging.yaml"),
        "config:\n  drs-cross-account-kms:deploy: staging\n" +
            `  drs-cross-account-kms:target:\n    accountId: "${target}"\n` +
            `  drs-cross-account-kms:stagingAccounts:\n    - { accountId: "${staging}", region: ${region}, replication: { stagingAreaSubnetId: subnet-0123456789abcdef0 } }\n`,
    );
}

/**
 * `extend -s target --outputs <file> ...args` through the command line, on the world, with the
 * stack writeTargetStack() wrote (one is written when none is given). The roles the command would
 * assume are left in `w.roles`.
 */
export async function runExtendCli(w: ExtendWorld, args: string[], stack = writeTargetStack()) {
    let out = "";
    let err = "";
    const code = await runCli(["extend", "-s", "target", "--outputs", stack.outputsFile, ...args], {
        workspace: null,
        projectDir: stack.dir,
        progressDelayMs: 0,
        clock: fakeClock().clock,
        io: { out: (t) => void (out += t), err: (t) => void (err += t) },
        access: (roleArns) => {
            w.roles = roleArns;
            return w.access;
        },
    });
    return { code, out, err };
}
