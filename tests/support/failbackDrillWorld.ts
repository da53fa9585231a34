// The failback drill's accounts, mocked on tests/support/drillWorld.ts: a drill job kept with
// --keep (web-1 launched as i-0drill00000000001), the staging account as the origin its servers
// fail back to (the stack's failback setting), DRS's failback roles in both accounts, and the
// origin's DRS, which answers ReverseReplication's new source server as it replicates.
import {
    DeleteSourceServerCommand,
    DescribeJobsCommand,
    DescribeRecoveryInstancesCommand,
    DescribeReplicationConfigurationTemplatesCommand,
    DescribeSourceServersCommand,
    DisconnectSourceServerCommand,
    DrsClient,
    GetReplicationConfigurationCommand,
    ReverseReplicationCommand,
    SourceServer,
} from "@aws-sdk/client-drs";
import { GetRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { DescribeKeyCommand, GetKeyPolicyCommand, KMSClient } from "@aws-sdk/client-kms";
import { buildKeyPolicy } from "../../components/policies";
import { mockClient } from "aws-sdk-client-mock";
import { StagingEntry } from "../../config/schema";
import { DrillOptions } from "../../ops/drill";
import { StagingKeyExport, wayBackOf } from "../../program/contract";
import {
    World,
    awsError,
    extended,
    job,
    jobId,
    key,
    keyArn,
    launched,
    operator,
    operatorArn,
    operatorRoleId,
    region,
    runDrill,
    staging,
    target,
    web,
    world,
} from "./drillWorld";

export const instance = "i-0drill00000000001";
export const reversed = "s-2000000000000back";
/** The key of an origin outside the stack, which its own template names. */
export const foreignOriginKey = (account: string, r = region) => `arn:aws:kms:${r}:${account}:key/0000bbbb-12ab-34cd-56ef-1234567890ab`;
export const reversedArn = `arn:aws:drs:${region}:${staging}:source-server/${reversed}`;
/** The staging stack's key export with its failback setting: by default back to the staging account itself. */
export const failbackKeys = (failback: Partial<NonNullable<StagingEntry["failback"]>> = {}): StagingKeyExport[] => [
    {
        ...key,
        wayBack: wayBackOf({ accountId: staging, region, failback: { to: "aws", networkReplication: false, ...failback } } as StagingEntry),
    },
];

/**
 * The origin's new source server as DescribeSourceServers shows it, one state a read: INITIATING
 * first, then those given, the last one from then on.
 */
export function failbackWorld(
    states: Partial<SourceServer["dataReplicationInfo"]>[] = [{ dataReplicationState: "INITIAL_SYNC" }],
    /** Where the servers' EC2 sources ran: the staging account unless a test moves it. */
    originAccount = staging,
    /** ...and in which Region. */
    originRegion = region,
) {
    const w = world();
    const templateKey = originAccount === staging ? keyArn : foreignOriginKey(originAccount, originRegion);
    const originDrs = new DrsClient({ region });
    const originIam = new IAMClient({ region });
    const originKms = new KMSClient({ region });
    const origin = { drs: mockClient(originDrs), iam: mockClient(originIam), kms: mockClient(originKms) };
    // An origin outside the stack keeps its own key, with the statements the program would write for its DRS.
    origin.kms.on(DescribeKeyCommand).callsFake(async (input: { KeyId: string }) => ({
        KeyMetadata: { KeyId: input.KeyId, KeyState: "Enabled", KeyManager: "CUSTOMER" },
    }));
    origin.kms.on(GetKeyPolicyCommand).resolves({
        Policy: JSON.stringify(
            buildKeyPolicy({
                stagingAccountId: originAccount,
                targetAccountId: target,
                region: originRegion,
                stagingRoleArn: `arn:aws:iam::${originAccount}:role/DRSStagingAccountRole_${target}`,
                targetAccess: "documented",
            }),
        ),
    });
    w.m.targetDrs.on(DescribeJobsCommand).resolves({ items: [job("COMPLETED", [launched(web, instance)])] });
    w.m.targetDrs.on(DescribeRecoveryInstancesCommand).resolves({
        items: [
            {
                recoveryInstanceID: instance,
                ec2InstanceID: instance,
                sourceServerID: web,
                isDrill: true,
                originEnvironment: "AWS",
                originAvailabilityZone: `${region}a`,
                recoveryInstanceProperties: { disks: [{ bytes: 20 * 2 ** 30 }, { bytes: 80 * 2 ** 30 }] },
                failback: { state: "FAILBACK_NOT_STARTED" },
            },
        ],
    });
    // The extended servers say where their EC2 sources ran.
    w.m.targetDrs.on(DescribeSourceServersCommand).callsFake(async (input: { filters?: { sourceServerIDs?: string[] } }) => ({
        items: w.servers
            .filter((s) => !input.filters?.sourceServerIDs || input.filters.sourceServerIDs.includes(s.id))
            .map((s) => ({ ...extended(s), sourceCloudProperties: { originAccountID: originAccount, originRegion } })),
    }));
    // DRS's failback roles exist in the target (for the origin) beside the operator.
    w.m.iam.on(GetRoleCommand).callsFake(async (input: { RoleName: string }) => {
        if (input.RoleName === operator) return { Role: { RoleName: operator, Arn: operatorArn, RoleId: operatorRoleId, Path: "/dr/" } };
        if (input.RoleName.startsWith("DRSCrossAccount")) return { Role: { RoleName: input.RoleName, Path: "/service-role/" } };
        throw awsError("NoSuchEntityException", `The role with name ${input.RoleName} cannot be found.`);
    });
    origin.iam.on(GetRoleCommand).callsFake(async (input: { RoleName: string }) => ({ Role: { RoleName: input.RoleName } }));
    origin.drs.on(DescribeReplicationConfigurationTemplatesCommand).resolves({
        items: [{ replicationConfigurationTemplateID: "rct-1", ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: templateKey }],
    });
    let reversedYet = false;
    w.m.targetDrs.on(ReverseReplicationCommand).callsFake(async () => {
        reversedYet = true;
        return { reversedDirectionSourceServerArn: reversedArn };
    });
    let read = 0;
    origin.drs.on(DescribeSourceServersCommand).callsFake(async (input: { filters?: { sourceServerIDs?: string[] } }) => {
        if (!reversedYet) return { items: [] };
        const info = read === 0 ? { dataReplicationState: "INITIATING" } : states[Math.min(read - 1, states.length - 1)];
        if (input.filters?.sourceServerIDs) read++;
        return {
            items: [
                {
                    sourceServerID: reversed,
                    arn: reversedArn,
                    recoveryInstanceId: instance,
                    replicationDirection: "FAILBACK",
                    dataReplicationInfo: info,
                },
            ],
        };
    });
    origin.drs
        .on(GetReplicationConfigurationCommand)
        .resolves({ sourceServerID: reversed, ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: templateKey });
    origin.drs.on(DisconnectSourceServerCommand).resolves({ sourceServerID: reversed });
    origin.drs.on(DeleteSourceServerCommand).resolves({});
    const drs = w.access.drs;
    const iam = w.access.iam;
    const kms = w.access.kms;
    const cloudTrail = w.access.cloudTrail;
    w.access.drs = async (account, r) => (account === originAccount ? originDrs : drs(account, r));
    w.access.drsWriter = async (account) => (account === target ? (w.access.drs(target, region) as Promise<DrsClient>) : originDrs);
    w.access.iam = async (account, r) => (account === originAccount ? originIam : iam(account, r));
    w.access.kms = async (account, r) => (account === originAccount && originAccount !== staging ? originKms : kms(account, r));
    // An origin outside the stack answers its trail on the staging trail's mock (m.trail).
    w.access.cloudTrail = async (account, r) => cloudTrail(account === originAccount ? staging : account, r);
    return { ...w, origin, reverseCalled: () => reversedYet };
}
export type FailbackWorld = ReturnType<typeof failbackWorld>;

/** The failback drill on the kept drill job. */
export const runFailback = (w: World, options: Partial<DrillOptions> = {}, extra: Parameters<typeof runDrill>[2] = {}) =>
    runDrill(w, { mode: "failback-plan", jobs: [jobId], ...options }, { keys: failbackKeys(), ...extra });
