// A staging account's DRS, KMS and EC2, mocked, for align-servers: tests/alignServers.spec.ts and the
// docs' sample outputs (tests/support/docSamples.ts) run against it.
import {
    DescribeRecoverySnapshotsCommand,
    DescribeSourceServersCommand,
    DrsClient,
    GetReplicationConfigurationCommand,
    SourceServer,
    UpdateReplicationConfigurationCommand,
} from "@aws-sdk/client-drs";
import { DescribeSnapshotsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { DescribeKeyCommand, GetKeyPolicyCommand, KMSClient } from "@aws-sdk/client-kms";
import { mockClient } from "aws-sdk-client-mock";
import { AlignOptions, alignServers } from "../../ops/align-servers";
import { AwsAccess } from "../../ops/aws/access";
import { Clock } from "../../ops/clock";
import { StagingKeyExport } from "../../program/contract";

export const staging = "444455556666";
export const target = "111122223333";
export const region = "us-east-1";
export const keyId = "1234abcd-12ab-34cd-56ef-1234567890ab";
export const keyArn = `arn:aws:kms:${region}:${staging}:key/${keyId}`;
export const oldKeyArn = `arn:aws:kms:${region}:${staging}:key/0987dcba-09fe-87dc-65ba-ab0987654321`;
export const key: StagingKeyExport = {
    accountId: staging,
    region,
    keyId,
    keyArn,
    aliasName: "alias/drs-cross-account-ebs",
    stagingRoleArn: `arn:aws:iam::${staging}:role/service-role/DRSStagingAccountRole_111122223333`,
};

export interface FakeServer {
    id: string;
    hostname: string;
    ebsEncryption: "DEFAULT" | "CUSTOM" | "NONE";
    ebsEncryptionKeyArn?: string;
    /** Extended into this account from another (EXTENDED), or its extension failed (EXTENSION_ERROR). */
    extended?: boolean | "EXTENSION_ERROR";
}

/** web-1 on aws/ebs, db-1 on another key, app-1 on the key, files-1 unencrypted, and one server extended from elsewhere. */
export const fleet = (): FakeServer[] => [
    { id: "s-0123456789abcd001", hostname: "web-1", ebsEncryption: "DEFAULT" },
    { id: "s-0123456789abcd002", hostname: "db-1", ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: oldKeyArn },
    { id: "s-0123456789abcd003", hostname: "app-1", ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: keyArn },
    { id: "s-0123456789abcd004", hostname: "files-1", ebsEncryption: "NONE" },
    { id: "s-0123456789abcd005", hostname: "extended-1", ebsEncryption: "DEFAULT", extended: true },
];

export const awsError = (name: string, message = name) => Object.assign(new Error(message), { name });
export const denied = (action: string) =>
    awsError(
        "AccessDeniedException",
        `User: arn:aws:sts::${staging}:assumed-role/Ops/me is not authorized to perform: ${action} on resource: arn:aws:drs:${region}:${staging}:source-server/s-0123456789abcd002`,
    );

/** The old key's policy: the DRS multi-account page's statement for the target, unless `sharedWithTarget` is false. */
export const oldKeyPolicy = (sharedWithTarget = true) =>
    JSON.stringify({
        Version: "2012-10-17",
        Statement: [
            { Sid: "Admin", Effect: "Allow", Principal: { AWS: `arn:aws:iam::${staging}:root` }, Action: "kms:*", Resource: "*" },
            ...(sharedWithTarget
                ? [
                      {
                          Sid: "TargetReEncrypt",
                          Effect: "Allow",
                          Principal: { AWS: `arn:aws:iam::${target}:root` },
                          Action: "kms:ReEncrypt*",
                          Resource: "*",
                      },
                  ]
                : []),
        ],
    });

/**
 * A staging account whose DRS keeps each server's replication configuration: GetReplicationConfiguration
 * reads it, UpdateReplicationConfiguration changes it (unless `failing` names the server). Each server's
 * newest point in time is on the key it is on (`pit` changes that), and replication is CONTINUOUS
 * (`states` changes that).
 */
export function stagingAccount(servers: FakeServer[] = fleet()) {
    const kms = new KMSClient({ region });
    const drs = new DrsClient({ region });
    const ec2 = new EC2Client({ region });
    const kmsMock = mockClient(kms);
    const drsMock = mockClient(drs);
    const ec2Mock = mockClient(ec2);
    const state = new Map(servers.map((s) => [s.id, { ebsEncryption: s.ebsEncryption, ebsEncryptionKeyArn: s.ebsEncryptionKeyArn }]));
    const failing = new Map<string, Error>();
    /** The key of each server's newest point in time, when it is not the one it is on now. */
    const pit = new Map<string, string | undefined>();
    /** Each server's replication states, one per read, the last one from then on. */
    const states = new Map<string, string[]>();
    kmsMock.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: keyId, Arn: keyArn, KeyState: "Enabled" } });
    kmsMock.on(GetKeyPolicyCommand).resolves({ Policy: oldKeyPolicy() });
    drsMock.on(DescribeSourceServersCommand).callsFake(async (input: { filters?: { sourceServerIDs?: string[] } }) => ({
        items: servers
            .filter((s) => !input.filters?.sourceServerIDs || input.filters.sourceServerIDs.includes(s.id))
            .map((s) => {
                const seen = states.get(s.id);
                const replication = seen && seen.length > 1 ? seen.shift()! : (seen?.[0] ?? "CONTINUOUS");
                return { ...sourceServer(s), dataReplicationInfo: { dataReplicationState: replication as never } };
            }),
    }));
    drsMock.on(DescribeRecoverySnapshotsCommand).callsFake(async (input: { sourceServerID: string }) => ({
        items: [
            {
                snapshotID: `pit-${input.sourceServerID}`,
                sourceServerID: input.sourceServerID,
                timestamp: "2026-12-04T10:00:00Z",
                ebsSnapshots: [`snap-${input.sourceServerID}`],
            },
        ],
    }));
    ec2Mock.on(DescribeSnapshotsCommand).callsFake(async (input: { SnapshotIds: string[] }) => ({
        Snapshots: input.SnapshotIds.map((id) => {
            const server = id.replace(/^snap-/, "");
            const kmsKey = pit.has(server) ? pit.get(server) : state.get(server)?.ebsEncryptionKeyArn;
            return { SnapshotId: id, Encrypted: kmsKey !== undefined, KmsKeyId: kmsKey };
        }),
    }));
    drsMock.on(GetReplicationConfigurationCommand).callsFake(async (input: { sourceServerID: string }) => ({
        sourceServerID: input.sourceServerID,
        stagingAreaSubnetId: "subnet-0123456789abcdef0",
        replicationServerInstanceType: "t3.small",
        ...state.get(input.sourceServerID),
    }));
    drsMock.on(UpdateReplicationConfigurationCommand).callsFake(async (input: any) => {
        const error = failing.get(input.sourceServerID);
        if (error) throw error;
        state.set(input.sourceServerID, { ebsEncryption: input.ebsEncryption, ebsEncryptionKeyArn: input.ebsEncryptionKeyArn });
        return { sourceServerID: input.sourceServerID, ...state.get(input.sourceServerID) };
    });
    // Writes go through their own client (it retries only a throttled call); the mock is the same account's DRS.
    const access: AwsAccess = {
        kms: async () => kms,
        drs: async () => drs,
        drsWriter: async () => drs,
        ec2: async () => ec2,
        iam: async () => {
            throw new Error("align-servers never uses IAM");
        },
    };
    return { access, kmsMock, drsMock, ec2Mock, state, failing, pit, states };
}

export function sourceServer(s: FakeServer): SourceServer {
    return {
        sourceServerID: s.id,
        sourceProperties: { identificationHints: { hostname: s.hostname } },
        stagingArea: { status: s.extended === "EXTENSION_ERROR" ? "EXTENSION_ERROR" : s.extended ? "EXTENDED" : "NOT_EXTENDED" },
    };
}

/** A fake clock: sleeping moves time on at once, and is recorded. */
export function fakeClock() {
    let now = Date.parse("2026-12-04T10:00:00Z");
    const sleeps: number[] = [];
    const clock: Clock = {
        now: () => now,
        sleep: async (ms) => {
            sleeps.push(ms);
            now += ms;
        },
    };
    return { clock, sleeps };
}

/** Runs the command's core with mocked accounts; returns exit code, stdout and stderr. */
export async function run(access: AwsAccess, options: Partial<AlignOptions> = {}, keys = [key]) {
    let out = "";
    let err = "";
    const code = await alignServers(
        keys,
        access,
        { apply: false, json: false, targets: [target], ...options },
        { out: (t) => (out += t), err: (t) => (err += t) },
    );
    return { code, out, err };
}
