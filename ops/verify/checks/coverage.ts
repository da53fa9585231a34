// Whether every replicating staging server is protected in each target (extended into it), and
// whether the roles DRS requires in other accounts exist: the "Failback and in-AWS right-sizing"
// roles for EC2 sources in other accounts (Marketplace licences) and for in-AWS right-sizing
// (docs/aws-requirements.md, "Extension" and "Failback and in-AWS right-sizing roles").
import { SourceServer } from "@aws-sdk/client-drs";
import { GetRoleCommand } from "@aws-sdk/client-iam";
import { drsFailbackRoleNames } from "../../../components/policies";
import { plural } from "../../../config/text";
import { StagingKeyExport } from "../../../program/contract";
import { AwsAccess } from "../../aws/access";
import { firstFew, hostnameOf, serverIdOfArn, serverName } from "../../aws/sourceServers";
import { Outcome } from "../types";

/** A staging server a target's config leaves out on purpose (target.unprotectedServers). */
export interface Unprotected {
    sourceServerId: string;
    reason: string;
}

/** Replication states in which a server no longer replicates: it has nothing new to protect. */
const notReplicating = new Set(["STOPPED", "DISCONNECTED"]);

/** The servers of a staging area that replicate: not stopped or disconnected. */
export function replicatingServers(servers: SourceServer[]): SourceServer[] {
    return servers.filter((s) => !notReplicating.has(s.dataReplicationInfo?.dataReplicationState ?? ""));
}

/**
 * Every staging server that replicates and is not extended into the target (or whose extension
 * failed) is unprotected there: FAIL, unless target.unprotectedServers names it with a reason (INFO).
 */
export function extensionCoverage(
    key: StagingKeyExport,
    target: string,
    staged: SourceServer[],
    extended: SourceServer[],
    unprotected: Unprotected[],
    extendCommand: string,
): Outcome {
    const from = `${key.accountId} in ${key.region}`;
    const replicating = replicatingServers(staged);
    if (replicating.length === 0) return { status: "PASS", message: `No server replicates in ${from}: nothing to extend.` };
    const byStagingId = new Map(extended.map((s) => [serverIdOfArn(s.stagingArea?.stagingSourceServerArn), s]));
    const rows = replicating.map((s) => {
        const id = s.sourceServerID ?? serverIdOfArn(s.arn) ?? "?";
        const there = byStagingId.get(id);
        return {
            sourceServerID: id,
            hostname: hostnameOf(s),
            extendedServerID: there?.sourceServerID,
            stagingAreaStatus: there?.stagingArea?.status,
            errorMessage: there?.stagingArea?.status === "EXTENSION_ERROR" ? (there.stagingArea.errorMessage ?? "no message") : undefined,
            reason: unprotected.find((u) => u.sourceServerId === id)?.reason,
        };
    });
    // Listed in the target under the staging account, it is extended, unless its extension failed.
    const missing = rows.filter((r) => r.extendedServerID === undefined || r.errorMessage !== undefined);
    const deliberate = missing.filter((r) => r.reason !== undefined);
    const findings = missing.filter((r) => r.reason === undefined);
    const stale = rows.filter((r) => r.reason !== undefined && !missing.includes(r));
    const staleNote =
        stale.length > 0
            ? ` target.unprotectedServers names ${firstFew(stale.map((r) => r.sourceServerID))}, which ${stale.length === 1 ? "is" : "are"} extended after all: remove ${stale.length === 1 ? "it" : "them"} from the list.`
            : "";
    const deliberateNote =
        deliberate.length > 0
            ? ` ${plural(deliberate.length, "server is", "servers are")} left out on purpose (target.unprotectedServers): ${firstFew(
                  deliberate.map((r) => `${serverName(r)}: ${r.reason}`),
                  3,
              )}.`
            : "";
    if (findings.length === 0) {
        return {
            status: deliberate.length > 0 ? "INFO" : stale.length > 0 ? "WARN" : "PASS",
            message:
                `${rows.length - missing.length} of ${plural(rows.length, "server")} replicating in ${from} ${rows.length - missing.length === 1 ? "is" : "are"} extended into ${target}.` +
                deliberateNote +
                staleNote,
            ...(deliberate.length + stale.length > 0 ? { details: [...deliberate, ...stale] } : {}),
        };
    }
    const failed = findings.filter((r) => r.errorMessage !== undefined);
    const absent = findings.filter((r) => r.errorMessage === undefined);
    const parts = [
        absent.length > 0 ? `${absent.length} not extended (${firstFew(absent.map(serverName))})` : "",
        failed.length > 0
            ? `${failed.length} whose extension failed (${firstFew(
                  failed.map((r) => `${serverName(r)}: ${r.errorMessage}`),
                  3,
              )})`
            : "",
    ].filter(Boolean);
    return {
        status: "FAIL",
        message:
            `${findings.length} of ${plural(rows.length, "server")} replicating in ${from} ${findings.length === 1 ? "is" : "are"} not protected in ${target}: ${parts.join("; ")}. ` +
            `${target} cannot recover ${findings.length === 1 ? "it" : "them"}.` +
            deliberateNote +
            staleNote,
        fix:
            `Extend them into ${target}: \`${extendCommand}\` lists them, and with --apply extends them (servers on the default EBS key must first move onto the key: align-servers). ` +
            "A server left out on purpose goes in target.unprotectedServers with its reason.",
        details: [...findings, ...deliberate, ...stale],
    };
}

/** Which of `names` exist as roles in `account`: GetRole on each; NoSuchEntity is "missing". */
export async function missingRoles(aws: AwsAccess, account: string, region: string, names: string[]): Promise<string[]> {
    const iam = await aws.iam(account, region);
    const missing: string[] = [];
    for (const name of names) {
        try {
            await iam.send(new GetRoleCommand({ RoleName: name }));
        } catch (err) {
            if ((err as Error).name !== "NoSuchEntityException" && (err as Error).name !== "NoSuchEntity") throw err;
            missing.push(name);
        }
    }
    return missing;
}

export const trustedAccountsFix = (owner: string, trusted: string) =>
    `In ${owner}, add ${trusted} as a trusted account with "Failback and in-AWS right-sizing roles" (DRS console, Settings, Trusted accounts): it creates them.`;

/**
 * An EC2 source account's roles for the staging account: without them DRS cannot read the
 * instances' Marketplace licence data, and refuses to extend their servers (the DRS multi-account page).
 */
export async function sourceAccountRoles(aws: AwsAccess, key: StagingKeyExport, source: string): Promise<Outcome> {
    const names = drsFailbackRoleNames(key.accountId);
    const missing = await missingRoles(aws, source, key.region, names);
    if (missing.length === 0)
        return {
            status: "PASS",
            message: `${source} has DRS's failback and in-AWS right-sizing roles for ${key.accountId} (${names.join(", ")}); their trust policies are not checked (AWS does not publish them exactly).`,
        };
    return {
        status: "FAIL",
        message:
            `${source} lacks ${missing.join(", ")}: EC2 sources there with Marketplace licences cannot be extended from ${key.accountId}, ` +
            "and the agent installation with --account-id fails.",
        fix: trustedAccountsFix(source, key.accountId),
    };
}

/** EC2 sources replicating here from accounts that stagingAccounts[].ec2SourceAccounts does not list. */
export function unlistedSourceAccounts(key: StagingKeyExport, staged: SourceServer[], listed: string[]): Outcome | undefined {
    const origins = new Map<string, string[]>();
    for (const s of staged) {
        const origin = s.sourceCloudProperties?.originAccountID;
        if (!origin || origin === key.accountId || listed.includes(origin)) continue;
        origins.set(origin, [...(origins.get(origin) ?? []), s.sourceServerID ?? "?"]);
    }
    if (origins.size === 0) return undefined;
    const accounts = [...origins.keys()];
    return {
        status: "WARN",
        message:
            `${plural(accounts.length, "account")} ${accounts.length === 1 ? "has" : "have"} EC2 sources replicating into ${key.accountId}/${key.region} ` +
            `and ${accounts.length === 1 ? "is" : "are"} not in ec2SourceAccounts: ${accounts.map((a) => `${a} (${firstFew(origins.get(a)!, 3)})`).join(", ")}. ` +
            "Whether DRS's roles exist there was not checked.",
        fix: `List ${accounts.length === 1 ? "it" : "them"} in this entry's ec2SourceAccounts, with a roleArn verify can assume, so verify checks DRS's roles there.`,
        details: accounts.map((accountId) => ({ accountId, sourceServerIDs: origins.get(accountId) })),
    };
}

/**
 * With in-AWS right-sizing (IN_AWS) the target reads the source instances' use: the trusted-accounts
 * page requires the failback and in-AWS right-sizing roles for it, without saying in which account
 * for an extended server. This checks the staging account, which holds the servers, for the target
 * (inferred: a missing role is a WARN).
 */
export async function rightSizingRoles(aws: AwsAccess, key: StagingKeyExport, target: string): Promise<Outcome> {
    const names = drsFailbackRoleNames(target);
    const missing = await missingRoles(aws, key.accountId, key.region, names);
    if (missing.length === 0)
        return { status: "PASS", message: `${key.accountId} has DRS's failback and in-AWS right-sizing roles for ${target}.` };
    return {
        status: "WARN",
        message:
            `target.launch sets IN_AWS right-sizing in ${key.region}, and ${key.accountId} lacks ${missing.join(", ")} for ${target}. ` +
            "AWS requires these roles for in-AWS right-sizing of a trusted account; that they belong in the staging account for an extended server is inferred, not documented.",
        fix: `${trustedAccountsFix(key.accountId, target)} Or set targetInstanceTypeRightSizingMethod to BASIC.`,
    };
}
