// npm run bench: start-up and plan times as ratios to the floor (Node loading @pulumi/pulumi and
// @pulumi/aws), all measured in this one run on this machine.
import { spawnSync } from "child_process";
import * as os from "os";
import * as path from "path";
import { plural } from "../config/text";
import { fleetProject } from "../tests/support/fleet";

const root = path.join(__dirname, "..");
const runs = Number(process.env.BENCH_RUNS ?? 5);

export interface Measure {
    seconds: number;
    peakMb: number;
}

/** One run of a Node process (with the TypeScript loader): wall time and peak memory. */
function sample(nodeArgs: string[]): Measure {
    const start = process.hrtime.bigint();
    const child = spawnSync(process.execPath, ["-r", "sucrase/register/ts", "-r", path.join(__dirname, "rssProbe.ts"), ...nodeArgs], {
        cwd: root,
        encoding: "utf8",
        maxBuffer: 1 << 30,
    });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (child.status !== 0) throw new Error(`${nodeArgs.join(" ")} failed:\n${child.stderr}`);
    const kb = Number(/bench-peak-rss-kb (\d+)/.exec(child.stderr)?.[1] ?? NaN);
    return { seconds, peakMb: kb / 1024 };
}

/** A case to measure: its name in the table, and the Node arguments of one run. */
export type Case = [name: string, nodeArgs: string[]];

/**
 * Medians over `rounds` rounds; each round runs every case once, interleaved, so that a slow
 * moment of the machine weighs on all cases alike rather than on one. Each run is announced on
 * stderr (`progress`) before it starts: the whole takes minutes, and silence looks like a hang.
 */
export function measureAll(
    cases: Case[],
    rounds = runs,
    measure: (nodeArgs: string[]) => Measure = sample,
    progress: (line: string) => void = (line) => void process.stderr.write(line),
): Measure[] {
    const samples: Measure[][] = cases.map(() => []);
    const total = rounds * cases.length;
    for (let round = 0; round < rounds; round++)
        cases.forEach(([name, args], i) => {
            progress(`bench: ${round * cases.length + i + 1} of ${total}: ${name} (round ${round + 1} of ${rounds})\n`);
            samples[i].push(measure(args));
        });
    const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
    return samples.map((s) => ({ seconds: median(s.map((m) => m.seconds)), peakMb: median(s.map((m) => m.peakMb)) }));
}

function main(): number {
    const cli = path.join(__dirname, "..", "cli", "index.ts");
    const sizes = [1, 10, 50, 100];
    const fleetName = (entries: number) => `(b) plan of ${entries} staging ${entries === 1 ? "entry" : "entries"}`;
    process.stderr.write(`bench: ${plural(runs, "round")} of ${sizes.length + 2} cases, then the test suite once\n`);
    const cases: Case[] = [
        ["floor: node + @pulumi/pulumi + @pulumi/aws", ["-e", 'require("@pulumi/pulumi"); require("@pulumi/aws")']],
        ["(a) plan of the shipped stacks (target, with staging)", [cli, "synth", "--stack", "target", "--out", os.devNull]],
        ...sizes.map((entries): Case => [
            fleetName(entries),
            [cli, "synth", "--stack", "fleet", "--config-file", path.join(fleetProject(entries), "Pulumi.fleet.yaml"), "--out", os.devNull],
        ]),
    ];
    const measured = measureAll(cases);
    const [floor, shipped, ...fleetRuns] = measured;
    const fleet = new Map(sizes.map((entries, i) => [entries, fleetRuns[i]]));
    const rows: [string, Measure][] = cases.map(([name], i) => [name, measured[i]]);
    process.stderr.write("bench: (c) the test suite (mocha, once): a couple of minutes\n");
    const testStart = process.hrtime.bigint();
    const tests = spawnSync("npx", ["mocha"], { cwd: root, encoding: "utf8" });
    if (tests.status !== 0) throw new Error(`the tests failed:\n${tests.stdout}`);
    rows.push(["(c) the test suite (mocha, once)", { seconds: Number(process.hrtime.bigint() - testStart) / 1e9, peakMb: NaN }]);

    const ratio = (m: Measure) => m.seconds / floor.seconds;
    const table = [
        "| measure | wall (median) | x floor | peak memory |",
        "|---|---|---|---|",
        ...rows.map(
            ([name, m]) =>
                `| ${name} | ${m.seconds.toFixed(2)} s | ${ratio(m).toFixed(2)}x | ${Number.isNaN(m.peakMb) ? "" : `${m.peakMb.toFixed(0)} MB`} |`,
        ),
    ];
    const perEntryMs = ((fleet.get(100)!.seconds - fleet.get(10)!.seconds) / 90) * 1000;
    const targets = [
        [`(a) shipped plan at most 2x the floor`, ratio(shipped) <= 2],
        [`(b) 100 entries at most 4x the floor`, ratio(fleet.get(100)!) <= 4],
        [`(b) 100 entries under 600 MB`, fleet.get(100)!.peakMb < 600],
    ] as const;
    console.log(`${os.cpus().length} cores, Node ${process.version}, median of ${runs} runs each\n`);
    console.log(table.join("\n"));
    console.log(`\nGrowth: ${perEntryMs.toFixed(1)} ms per staging entry between 10 and 100 entries.`);
    for (const [name, ok] of targets) console.log(`${ok ? "met   " : "MISSED"} ${name}`);
    return targets.every(([, ok]) => ok) ? 0 : 1;
}

if (require.main === module) process.exitCode = main();
