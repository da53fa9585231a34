// The way back (failback) of a plan: for each staging key that exports a failback setting and each
// target it serves, where its servers return to and the roles each direction needs. The program
// creates none of them (AWS does not publish them exactly: docs/aws-requirements.md, "Failback"):
// the plan names them, and verify checks them.
import { DirectionRoles, WayBack, failbackInstallationPolicyArn, failbackRoles, networkRoles, partitionOf } from "../components/policies";
import type { StagingKeyExport } from "../program/contract";

export interface PlannedWayBack {
    /** The staging place the servers replicate in. */
    accountId: string;
    region: string;
    keyArn: string;
    targetAccountId: string;
    back: WayBack;
    /** The roles of each direction (the failback roles, then the network role with networkReplication). */
    roles: DirectionRoles[];
    /** The origin is a staging place of this plan: its key already serves the way back. */
    originKeyArn?: string;
}

/** The ways back of one stack's outputs (its stagingKeys, and the targets they serve). */
export function plannedWaysBack(outputs: Record<string, unknown>): PlannedWayBack[] {
    const keys = Array.isArray(outputs.stagingKeys) ? (outputs.stagingKeys as StagingKeyExport[]) : [];
    const firstTarget = typeof outputs.targetAccountId === "string" ? [outputs.targetAccountId] : [];
    return keys.flatMap((key) => {
        const back = key.wayBack;
        if (!back) return [];
        return (key.targetAccountIds ?? firstTarget).map((targetAccountId) => {
            const origin = back.to === "aws" ? back.originAccountId : undefined;
            const own = origin && keys.find((k) => k.accountId === origin && k.region === back.originRegion);
            return {
                accountId: key.accountId,
                region: key.region,
                keyArn: key.keyArn,
                targetAccountId,
                back,
                roles: origin
                    ? [...failbackRoles(origin, targetAccountId), ...(back.networkReplication ? networkRoles(origin, targetAccountId) : [])]
                    : [],
                ...(own ? { originKeyArn: own.keyArn } : {}),
            };
        });
    });
}

const directionWords = { back: "the way back", there: "the way there: protection, and again after failback" };

/** The ways back in words, for the text plan; none: no lines. */
export function formatWaysBack(ways: PlannedWayBack[]): string[] {
    if (ways.length === 0) return [];
    const lines = [
        "",
        "The way back (failback): the roles are created in the DRS console (Trusted accounts) and checked by verify, not created here",
    ];
    for (const way of ways) {
        const from = `${way.accountId}/${way.region}`;
        if (way.back.to === "on-premises") {
            lines.push(
                `  ${from}, recovered in ${way.targetAccountId}: back to on-premises with the DRS Failback Client`,
                `    its credentials: a user or role in ${way.targetAccountId} holding ${failbackInstallationPolicyArn(partitionOf(way.region))} (verify: failback-client-credentials)`,
            );
            continue;
        }
        const origin = `${way.back.originAccountId}/${way.back.originRegion}`;
        lines.push(`  ${from}, recovered in ${way.targetAccountId}: back to ${origin} by reverse replication`);
        lines.push(`    DRS initialised at ${origin} (verify: failback-origin-drs; initialize --apply)`);
        for (const set of way.roles) {
            const check = set.roleNames[0] === "DRSSourceNetworkRole" ? "source-network-roles" : "failback-roles";
            lines.push(
                `    in ${set.accountId}, for ${set.trustedAccountId} (${directionWords[set.direction]}): ${set.roleNames.join(", ")} (verify: ${check})`,
            );
        }
        lines.push(
            way.originKeyArn
                ? `    the new source servers' key: ${way.originKeyArn}, this stack's key at the origin`
                : `    the new source servers' key: the origin template's, a customer managed key for the origin's DRS (verify: failback-origin-key)`,
        );
    }
    return lines;
}
