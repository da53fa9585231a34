// The source servers' checks: each server replicating in the staging area on this key, and each
// server extended into the target replicating normally and proven by a recent drill.
import { DrsClient, SourceServer } from "@aws-sdk/client-drs";
import { drsStagingRoleName } from "../../../components/policies";
import { StagingKeyExport } from "../../../program/contract";
import { AwsAccess } from "../../aws/access";
import {
    ServerEncryption,
    describeEncryption,
    firstFew,
    healthyReplicationStates,
    hostnameOf,
    isOnKey,
    listSourceServers,
    readServerEncryption,
    replicatingHere,
} from "../../aws/sourceServers";
import { mapLimit, unique } from "../lists";
import { symptoms } from "../outcomes";
import { Outcome, defaultMaxDrillAgeDays } from "../types";

/** GetReplicationConfiguration calls in flight at once, per key. */
const serverReadConcurrency = 8;

/**
 * Each server has its own replication configuration; the template only holds the defaults for
 * servers added later (docs/aws-requirements.md, "Per-server replication settings").
 */
export async function sourceServerEncryption(
    aws: AwsAccess,
    key: StagingKeyExport,
    alignCommand: string,
    onCount: (replicating: number) => void = () => undefined,
    /** The staging area's servers, when another check lists them too. */
    listed?: () => Promise<SourceServer[]>,
    /** Each server's replication settings as read, for server-readiness. */
    onRead: (encryptions: ServerEncryption[]) => void = () => undefined,
): Promise<Outcome> {
    const drs = await aws.drs(key.accountId, key.region);
    const where = `${key.accountId}/${key.region}`;
    const servers = listed ? await listed() : replicatingHere(await listSourceServers(drs));
    onCount(servers.length);
    const read = await mapLimit(servers, serverReadConcurrency, (server) => readEncryptionIfExists(drs, server));
    const encryptions = read.filter((e): e is ServerEncryption => e !== undefined);
    onRead(encryptions);
    const total = encryptions.length;
    if (total === 0) {
        return {
            status: "WARN",
            message: `No source server replicates in ${where} yet.`,
            fix: "Install the AWS Replication Agent on the source servers: new servers take the replication template's settings.",
        };
    }
    // Unencrypted servers need no key to be recovered in the target (docs/aws-requirements.md, "Unencrypted servers").
    const unencrypted = encryptions.filter((e) => e.ebsEncryption === "NONE");
    const off = encryptions.filter((e) => !isOnKey(e, key.keyArn) && e.ebsEncryption !== "NONE");
    const unencryptedNote =
        unencrypted.length > 0
            ? ` ${unencrypted.length} of ${total} replicate${unencrypted.length === 1 ? "s" : ""} unencrypted (ebsEncryption NONE): recoverable in the target without a key, ` +
              `but their staging disks and points in time are not encrypted: ${firstFew(unencrypted.map(serverLabel))}.`
            : "";
    const encryptFix = `To encrypt them with this key: \`${alignCommand} --include-unencrypted\` (a full sync may follow).`;
    const details = [...off, ...unencrypted].map((e) => ({ ...e, encryption: describeEncryption(e) }));
    if (off.length === 0 && unencrypted.length === 0) {
        return {
            status: "PASS",
            message:
                total === 1
                    ? `The one server replicating in ${where} uses ebsEncryption CUSTOM with this key.`
                    : `All ${total} servers replicating in ${where} use ebsEncryption CUSTOM with this key.`,
        };
    }
    if (off.length === 0) return { status: "WARN", message: unencryptedNote.trim(), fix: encryptFix, details };
    const kinds: [string, (e: ServerEncryption) => boolean][] = [
        ["DEFAULT (aws/ebs)", (e) => e.ebsEncryption === "DEFAULT"],
        ["on another key", (e) => e.ebsEncryption === "CUSTOM"],
        ["with unknown encryption", (e) => !["DEFAULT", "NONE", "CUSTOM"].includes(e.ebsEncryption ?? "")],
    ];
    const counts = kinds.map(([label, is]) => [off.filter(is).length, label] as const).filter(([n]) => n > 0);
    return {
        status: "FAIL",
        message:
            `${off.length} of ${total} server${total === 1 ? "" : "s"} replicating in ${where} ${off.length === 1 ? "is" : "are"} not on this key: ` +
            `${counts.map(([n, label]) => `${n} ${label}`).join(", ")}: ${firstFew(off.map(serverLabel))}.${unencryptedNote}`,
        fix:
            `Move them onto ${key.keyArn}: \`${alignCommand}\` lists the changes, and with --apply makes them. ` +
            `Changing a server's EBS encryption may need a full sync, and points in time taken before stay under the old key; ${symptoms.recovery}.` +
            (unencrypted.length > 0 ? ` ${encryptFix}` : ""),
        details,
    };
}

/** A server deleted since the listing has no replication configuration: it is skipped. */
async function readEncryptionIfExists(drs: DrsClient, server: SourceServer): Promise<ServerEncryption | undefined> {
    try {
        return await readServerEncryption(drs, server);
    } catch (err) {
        if ((err as Error).name === "ResourceNotFoundException") return undefined;
        throw err;
    }
}

function serverLabel(server: { sourceServerID?: string; hostname?: string }): string {
    return server.hostname ? `${server.sourceServerID} (${server.hostname})` : (server.sourceServerID ?? "?");
}

/** Extension errors and replication states that are not normal: docs/aws-requirements.md, "Data replication states". */
export function extendedReplication(key: StagingKeyExport, target: string, servers: SourceServer[]): Outcome {
    const from = `${key.accountId} in ${key.region}`;
    if (servers.length === 0) return { status: "PASS", message: `No server is extended from ${from}: nothing to check.` };
    const extensionErrors = servers.filter((s) => s.stagingArea?.status === "EXTENSION_ERROR");
    const unhealthy = servers.filter((s) => s.stagingArea?.status !== "EXTENSION_ERROR" && !healthyReplicationStates.includes(stateOf(s)));
    if (extensionErrors.length + unhealthy.length === 0) {
        return {
            status: "PASS",
            message: `All ${servers.length} servers extended from ${from} replicate normally (${healthyReplicationStates.join(", ")}).`,
        };
    }
    const parts: string[] = [];
    if (extensionErrors.length > 0) {
        const shown = extensionErrors.map(
            (s) => `${serverLabel(serverIdentity(s))}: ${shorten(s.stagingArea?.errorMessage ?? "no message")}`,
        );
        parts.push(`${extensionErrors.length} with an extension error (${firstFew(shown, 3)})`);
    }
    if (unhealthy.length > 0) {
        const states = unique(unhealthy.map(stateOf)).map((state) => `${unhealthy.filter((s) => stateOf(s) === state).length} ${state}`);
        parts.push(
            `${unhealthy.length} not replicating normally (${states.join(", ")}: ${firstFew(unhealthy.map((s) => serverLabel(serverIdentity(s))))})`,
        );
    }
    const fixes: string[] = [];
    if (extensionErrors.length > 0)
        fixes.push(
            `Extension errors: read each server's message in the target's DRS console; DRS in ${key.accountId} and its ${drsStagingRoleName(target)} must be in place (see the checks above for that account).`,
        );
    if (unhealthy.length > 0)
        fixes.push(
            "Servers not replicating normally: look at their data replication in the staging account's DRS console (agent, replication server, network); until they are back to a healthy state, they cannot be recovered from a recent point in time.",
        );
    const bad = extensionErrors.length + unhealthy.length;
    return {
        status: "FAIL",
        message: `${bad} of ${servers.length} server${servers.length === 1 ? "" : "s"} extended from ${from} ${bad === 1 ? "needs" : "need"} attention: ${parts.join("; ")}.`,
        fix: fixes.join(" "),
        details: [...extensionErrors, ...unhealthy].map((s) => ({
            ...serverIdentity(s),
            stagingAreaStatus: s.stagingArea?.status,
            dataReplicationState: s.dataReplicationInfo?.dataReplicationState,
            errorMessage:
                s.stagingArea?.errorMessage ??
                ([s.dataReplicationInfo?.dataReplicationError?.error, s.dataReplicationInfo?.dataReplicationError?.rawError]
                    .filter(Boolean)
                    .join(": ") ||
                    undefined),
        })),
    };
}

/**
 * What proves a server recoverable in the target: its last launch there, a drill or a recovery
 * (lifeCycle.lastLaunch), launched, and recent enough. Never launched, or a last launch that
 * failed, is unproven (docs/aws-requirements.md, "Proof of recovery").
 */
export function extendedDrills(
    key: StagingKeyExport,
    servers: SourceServer[],
    now: number,
    maxAgeDays: number,
    drillCommand: string,
): Outcome {
    const from = `${key.accountId} in ${key.region}`;
    if (servers.length === 0) return { status: "PASS", message: `No server is extended from ${from}: nothing to check.` };
    const day = 24 * 60 * 60_000;
    const rows = servers.map((s) => {
        const last = s.lifeCycle?.lastLaunch;
        const at = Date.parse(last?.initiated?.apiCallDateTime ?? "");
        return {
            ...serverIdentity(s),
            lastLaunchType: last?.initiated?.type,
            lastLaunchStatus: last?.status,
            lastLaunchAt: last?.initiated?.apiCallDateTime,
            lastLaunchJobID: last?.initiated?.jobID,
            ageDays: Number.isNaN(at) ? undefined : Math.floor((now - at) / day),
        };
    });
    const never = rows.filter((r) => !r.lastLaunchType || r.ageDays === undefined);
    const failed = rows.filter((r) => !never.includes(r) && r.lastLaunchStatus === "FAILED");
    const old = rows.filter((r) => !never.includes(r) && !failed.includes(r) && r.ageDays! > maxAgeDays);
    if (never.length + failed.length + old.length === 0)
        return {
            status: "PASS",
            message: `All ${servers.length} servers extended from ${from} were drilled or recovered within ${maxAgeDays} days, their last launch not failed.`,
        };
    const parts = [
        never.length > 0 ? `${never.length} never drilled or recovered (${firstFew(never.map(serverLabel), 3)})` : "",
        failed.length > 0
            ? `${failed.length} whose last ${failed.length === 1 ? "launch" : "launches"} failed (${firstFew(
                  failed.map((r) => `${serverLabel(r)}: ${r.lastLaunchType} ${r.lastLaunchAt}`),
                  3,
              )})`
            : "",
        old.length > 0
            ? `${old.length} last drilled or recovered more than ${maxAgeDays} days ago (${firstFew(
                  old.map((r) => `${serverLabel(r)}: ${r.ageDays} days`),
                  3,
              )})`
            : "",
    ].filter(Boolean);
    const unproven = never.length + failed.length;
    return {
        status: "WARN",
        message: `${unproven > 0 ? "Unproven: " : ""}${parts.join("; ")}, of the ${servers.length === 1 ? "1 server" : `${servers.length} servers`} extended from ${from}.`,
        fix:
            `Drill them in the target: \`${drillCommand} --server <id> --start\` (or --count <n> per staging entry); ` +
            `only a drill proves the chain of keys and roles (--max-drill-age sets the age, default ${defaultMaxDrillAgeDays} days).`,
        details: [...never, ...failed, ...old],
    };
}

function stateOf(server: SourceServer): string {
    return server.dataReplicationInfo?.dataReplicationState ?? "UNKNOWN";
}

function serverIdentity(s: SourceServer): { sourceServerID?: string; hostname?: string } {
    return { sourceServerID: s.sourceServerID, hostname: hostnameOf(s) };
}

/** An AWS error message, cut short for the one-line summary (details keep it whole). */
function shorten(text: string, max = 120): string {
    return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
