// verify's per-server readiness (ops/verify/checks/readiness.ts) on a mocked fleet of the staging
// place tests/support/verifyWorld.ts sets up: one server of each kind a DR team looks for (ready,
// lagging, stalled, an old point in time, never drilled, not extended, off the key), in JSON and text.
import { DescribeRecoverySnapshotsCommand } from "@aws-sdk/client-drs";
import { expect } from "chai";
import { formatResults, verify } from "../../ops/verify";
import { durationMinutes } from "../../ops/verify/checks/readiness";
import { fleet, fleetAws, gib } from "../support/readinessWorld";
import { awsError, byCheck, outputs, region, settings, staging, target } from "../support/verifyWorld";

describe("verify: per-server readiness", () => {
    it("gives each server's readiness in JSON: extended, key, state, lag, backlog, latest point in time, last drill", async () => {
        const results = await verify({ settings, outputs }, fleetAws().access);
        const readiness = byCheck(results)["server-readiness"];
        expect(readiness.status).to.equal("FAIL");
        expect(readiness.scope).to.equal(`${staging}/${region}`);
        expect(readiness.message).to.equal(
            `1 of 7 servers of ${staging}/${region} ready in ${target}, 6 not ready (3 behind: lag or latest point in time).`,
        );
        const rows = Object.fromEntries(readiness.details!.map((d) => [d.hostname, d]));
        expect(rows["web-1"]).to.deep.include({
            readiness: "ready",
            problems: [],
            extended: true,
            onKey: "yes",
            replicationState: "CONTINUOUS",
            lagMinutes: 0,
            backlogBytes: 0,
            pointInTimeAgeMinutes: 4,
            lastLaunch: "DRILL TERMINATED",
            lastLaunchAgeDays: 10,
            targetSourceServerID: "s-100",
        });
        expect(rows["db-1"]).to.deep.include({ readiness: "not ready", lagMinutes: 45, backlogBytes: 1.5 * gib });
        expect(rows["db-1"].problems).to.deep.equal(["lag 45 min, over 30 (--max-lag)"]);
        expect(rows["app-1"].problems).to.deep.equal([
            "replication STALLED (extended-server-replication)",
            "lag 120 min, over 30 (--max-lag)",
        ]);
        expect(rows["batch-1"].problems).to.deep.equal(["latest point in time 3 h ago, over 30 min (--max-snapshot-age)"]);
        expect(rows["new-1"].problems).to.deep.equal(["never drilled or recovered (extended-server-drills)"]);
        expect(rows["report-1"]).to.deep.include({ extended: false, readiness: "not ready" });
        expect(rows["report-1"].problems).to.deep.equal([`not extended into ${target} (extension-coverage)`]);
        expect(rows["legacy-1"].problems).to.deep.equal(["not on the key: DEFAULT (source-server-encryption)"]);
        // Not ready first, each group by ID.
        expect(readiness.details!.map((d) => d.sourceServerID)).to.deep.equal(["s-2", "s-3", "s-4", "s-5", "s-6", "s-7", "s-1"]);
    });

    it("shows per-server readiness at a glance in text: the place's summary, then one line per server", async () => {
        const text = formatResults(await verify({ settings, outputs }, fleetAws().access));
        const view = text.split(
            "\nServer readiness (extended, key, replication, lag, backlog, latest point in time, last drill or recovery):\n",
        )[1];
        const lines = view.split("\n\n")[0].split("\n");
        expect(lines[0]).to.equal(
            `  1 of 7 servers of ${staging}/${region} ready in ${target}, 6 not ready (3 behind: lag or latest point in time).`,
        );
        expect(lines).to.have.length(8);
        const line = (host: string) => lines.find((l) => l.includes(`(${host})`))!;
        expect(line("web-1")).to.match(
            /^ {4}READY +s-1 \(web-1\) +on key +CONTINUOUS +lag 0 min +backlog 0 B +point in time 4 min ago +drilled 10 days ago$/,
        );
        expect(line("db-1")).to.match(
            /^ {4}NOT READY +s-2 \(db-1\) .* lag 45 min +backlog 1\.5 GiB .*: lag 45 min, over 30 \(--max-lag\)$/,
        );
        expect(line("new-1")).to.match(/never drilled: never drilled or recovered \(extended-server-drills\)$/);
        expect(line("legacy-1")).to.match(/ OFF KEY /);
    });

    it("takes its thresholds: --max-lag and --max-snapshot-age loosen what is behind", async () => {
        const results = await verify({ settings, outputs, maxLagMinutes: 180, maxSnapshotAgeMinutes: 240 }, fleetAws().access);
        const readiness = byCheck(results)["server-readiness"];
        // Nothing is behind any more: what is left is judged by the other checks (WARN).
        expect(readiness.status).to.equal("WARN");
        const rows = Object.fromEntries(readiness.details!.map((d) => [d.hostname, d]));
        expect(rows["db-1"].readiness).to.equal("ready");
        expect(rows["batch-1"].readiness).to.equal("ready");
        expect(rows["app-1"].problems).to.deep.equal(["replication STALLED (extended-server-replication)"]);
    });

    it("a server without a point in time yet is behind; a server left out on purpose is said so, not counted as not ready", async () => {
        const world = fleetAws();
        world.mocks.stagingDrs.on(DescribeRecoverySnapshotsCommand, { sourceServerID: "s-1" }).resolves({ items: [] });
        const unprotectedServers = [{ sourceServerId: "s-6", reason: "decommissioned in Q1" }];
        const leftOut = { ...settings, targets: settings.targets.map((t) => ({ ...t, unprotectedServers })) };
        const readiness = byCheck(await verify({ settings: leftOut, outputs }, world.access))["server-readiness"];
        const rows = Object.fromEntries(readiness.details!.map((d) => [d.hostname, d]));
        expect(rows["web-1"].problems).to.deep.equal(["no point in time yet: nothing to recover from"]);
        expect(rows["report-1"]).to.deep.include({ readiness: "left out", problems: [`left out of ${target}: decommissioned in Q1`] });
        expect(readiness.message).to.include("0 of 7 servers");
        expect(readiness.message).to.include("6 not ready, 1 left out on purpose");
    });

    it("is not checked, never passed, when the points in time cannot be read, naming the permission", async () => {
        const world = fleetAws();
        world.mocks.stagingDrs
            .on(DescribeRecoverySnapshotsCommand)
            .rejects(awsError("AccessDeniedException", "User is not authorized to perform: drs:DescribeRecoverySnapshots"));
        const readiness = byCheck(await verify({ settings, outputs }, world.access))["server-readiness"];
        expect(readiness.status).to.equal("UNCHECKED");
        expect(readiness.unchecked).to.deep.include({ kind: "refused", permission: "drs:DescribeRecoverySnapshots" });
    });

    it("reads each server's latest point in time once, newest first, one item", async () => {
        const world = fleetAws();
        await verify({ settings, outputs }, world.access);
        const calls = world.mocks.stagingDrs.commandCalls(DescribeRecoverySnapshotsCommand).map((c) => c.args[0].input);
        expect(calls.map((c) => c.sourceServerID)).to.deep.equal(fleet.map((s) => s.id));
        expect(calls.every((c) => c.order === "DESC" && c.maxResults === 1)).to.equal(true);
    });

    it("reads DRS's lag as an ISO 8601 duration, and nothing else as one", () => {
        expect(durationMinutes("PT0S")).to.equal(0);
        expect(durationMinutes("PT45M")).to.equal(45);
        expect(durationMinutes("PT1H2M30S")).to.equal(62.5);
        expect(durationMinutes("P1DT2H")).to.equal(26 * 60);
        expect(durationMinutes("PT0.5S")).to.be.closeTo(1 / 120, 1e-9);
        for (const bad of ["", "P", "PT", "45", "PT45", "1 hour", "PT-5M", undefined])
            expect(durationMinutes(bad), String(bad)).to.equal(undefined);
    });
});
