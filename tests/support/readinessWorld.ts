// A mocked fleet of the staging place tests/support/verifyWorld.ts sets up, one server of each kind
// a DR team looks for in verify's per-server readiness: ready, lagging, stalled, an old point in
// time, never drilled, not extended, off the key (tests/ops/readiness.spec.ts, docs/verify.md).
import { DescribeRecoverySnapshotsCommand, DescribeSourceServersCommand, GetReplicationConfigurationCommand } from "@aws-sdk/client-drs";
import { healthyAws, keyArn, lastLaunch, minutesAgo, region, sourceServer, staging, stagingServerArn } from "./verifyWorld";

export const gib = 2 ** 30;
/** The staging servers, each with how it replicates; `extended: false` is not extended into the target. */
export const fleet = [
    { id: "s-1", hostname: "web-1" },
    { id: "s-2", hostname: "db-1", lag: "PT45M", backlogBytes: 1.5 * gib },
    { id: "s-3", hostname: "app-1", state: "STALLED", lag: "PT2H" },
    { id: "s-4", hostname: "batch-1", pointInTimeMinutesAgo: 180 },
    { id: "s-5", hostname: "new-1", lastLaunch: null },
    { id: "s-6", hostname: "report-1", extended: false },
    { id: "s-7", hostname: "legacy-1", offKey: true },
] as const;
type Server = (typeof fleet)[number] & {
    lag?: string;
    backlogBytes?: number;
    state?: string;
    pointInTimeMinutesAgo?: number;
    lastLaunch?: null;
    extended?: boolean;
    offKey?: boolean;
};

export function fleetAws() {
    const world = healthyAws();
    const { mocks } = world;
    const all = fleet as readonly Server[];
    const staged = (s: Server) =>
        sourceServer(s.id, {
            hostname: s.hostname,
            arn: stagingServerArn(staging, region, s.id),
            state: s.state,
            lag: s.lag,
            backlogBytes: s.backlogBytes,
        });
    mocks.stagingDrs
        .on(DescribeSourceServersCommand)
        .resolves({ items: all.map(staged) })
        .on(GetReplicationConfigurationCommand)
        .callsFake(async ({ sourceServerID }: { sourceServerID: string }) =>
            all.find((s) => s.id === sourceServerID)?.offKey
                ? { ebsEncryption: "DEFAULT" }
                : { ebsEncryption: "CUSTOM", ebsEncryptionKeyArn: keyArn },
        )
        .on(DescribeRecoverySnapshotsCommand)
        .callsFake(async ({ sourceServerID }: { sourceServerID: string }) => {
            const at = minutesAgo(all.find((s) => s.id === sourceServerID)?.pointInTimeMinutesAgo ?? 4);
            return { items: [{ snapshotID: `pit-${sourceServerID}`, sourceServerID, expectedTimestamp: at, timestamp: at }] };
        });
    // The target's extended servers carry the staging servers' replication as the target sees it.
    mocks.targetDrs.on(DescribeSourceServersCommand).resolves({
        items: all
            .filter((s) => s.extended !== false)
            .map((s, i) =>
                sourceServer(`s-10${i}`, {
                    hostname: s.hostname,
                    stagingArea: "EXTENDED",
                    stagingSourceServerArn: stagingServerArn(staging, region, s.id),
                    state: s.state,
                    lag: s.lag,
                    backlogBytes: s.backlogBytes,
                    lastLaunch: s.lastLaunch === null ? null : lastLaunch("DRILL", "TERMINATED", 10),
                }),
            ),
    });
    return world;
}
