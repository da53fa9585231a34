// What the commands print, and what the program registers, for the shipped stacks and the tests'
// mocked accounts: kept in tests/golden/, so a change of layout that changes behaviour fails here.
// UPDATE_GOLDEN=1 npx mocha tests/golden.spec.ts writes them (only when a change is meant).
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { CliDeps, run } from "../cli";
import { runProgram, stackFileConfig } from "./support/mocks";
import { stagingAccount } from "./support/alignWorld";
import { fakeClock, job, jobAnswers, launched, world } from "./support/drillWorld";
import { healthyAws, outputs as verifyOutputs } from "./support/verifyWorld";

const root = path.join(__dirname, "..");
const golden = path.join(__dirname, "golden");
/** Files the commands read (--outputs), at fixed paths: the commands name them in what they print. */
const input = (name: string, value: unknown) => {
    const file = path.join(golden, "inputs", name);
    if (process.env.UPDATE_GOLDEN) {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
    }
    return path.relative(root, file);
};

async function cli(argv: string[], deps: CliDeps = {}): Promise<string> {
    let out = "";
    let err = "";
    const code = await run(argv, {
        workspace: null,
        progressDelayMs: 60_000,
        ...deps,
        io: { out: (t) => void (out += t), err: (t) => void (err += t) },
    });
    return `$ ${argv.join(" ")}\nexit ${code}\n--- stdout\n${out}--- stderr\n${err}`;
}

function matches(name: string, actual: string): void {
    const file = path.join(golden, name);
    if (process.env.UPDATE_GOLDEN) {
        fs.mkdirSync(golden, { recursive: true });
        fs.writeFileSync(file, actual);
    }
    expect(actual, `tests/golden/${name}`).to.equal(fs.readFileSync(file, "utf8"));
}

/** Objects with their keys sorted: the order a mock receives inputs in is not behaviour (it varies with what ran before). */
function sortedKeys(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(sortedKeys);
    if (value === null || typeof value !== "object") return value;
    return Object.fromEntries(
        Object.keys(value)
            .sort()
            .map((key) => [key, sortedKeys((value as Record<string, unknown>)[key])]),
    );
}

/** Every registration, sorted by URN, with what decides where and how it is created. */
function registrations(run: Awaited<ReturnType<typeof runProgram>>): string {
    const rows = [...run.mocks.registrations]
        .sort((a, b) => a.urn.localeCompare(b.urn))
        .map((r) => ({
            urn: r.urn,
            type: r.type,
            name: r.name,
            custom: r.custom,
            inputs: r.inputs,
            provider: r.provider,
            parentUrn: r.parentUrn,
            account: r.account,
            protect: r.protect,
            retainOnDelete: r.retainOnDelete,
            importId: r.importId,
            aliases: r.aliases,
        }));
    return `${JSON.stringify(sortedKeys({ registrations: rows, outputs: run.outputs }), null, 2)}\n`;
}

describe("golden files: the commands and the program as they were before a change of layout", () => {
    it("registrations and outputs of the shipped stacks, URNs included", async () => {
        const staging = await runProgram(stackFileConfig("staging"));
        matches("registrations-staging.json", registrations(staging));
        const target = await runProgram(stackFileConfig("target"), { "organization/drs-cross-account-kms/staging": staging.outputs });
        matches("registrations-target.json", registrations(target));
    });

    for (const stack of ["staging", "target"]) {
        it(`synth and access-report of the shipped ${stack} stack`, async () => {
            matches(`synth-${stack}.json.txt`, await cli(["synth", "-s", stack]));
            matches(`synth-${stack}.txt`, await cli(["synth", "-s", stack, "--format", "text"]));
            matches(`synth-${stack}.mermaid.txt`, await cli(["synth", "-s", stack, "--format", "mermaid"]));
            matches(`access-report-${stack}.txt`, await cli(["access-report", "-s", stack, "--json"]));
        });
    }

    it("verify against the mocked healthy accounts", async () => {
        const outputs = input("verify-outputs.json", verifyOutputs);
        for (const json of [false, true]) {
            const { access } = healthyAws();
            const argv = ["verify", "-s", "staging", "--outputs", outputs, ...(json ? ["--json"] : [])];
            // The mocked points in time are minutes before the run: their clock time is no behaviour.
            const printed = (await cli(argv, { access: () => access })).replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "<time>");
            matches(`verify${json ? ".json" : ""}.txt`, printed);
        }
    });

    it("align-servers against the mocked staging account: dry run, --apply, --json", async () => {
        const outputs = input("align-outputs.json", {
            targetAccountId: "111122223333",
            targetAccess: "documented",
            stagingKeys: [(await import("./support/alignWorld")).key],
        });
        for (const [name, flags] of [
            ["align-dry-run.txt", []],
            ["align-apply.txt", ["--apply", "--include-unencrypted"]],
            ["align-apply.json.txt", ["--apply", "--json"]],
        ] as const) {
            const { access } = stagingAccount();
            matches(name, await cli(["align-servers", "-s", "staging", "--outputs", outputs, ...flags], { access: () => access }));
        }
    });

    it("drill against the mocked accounts: the plan, --start, --start --json", async () => {
        const outputs = input("drill-outputs.json", (await import("./support/drillWorld")).outputs);
        for (const [name, flags] of [
            ["drill-plan.txt", []],
            ["drill-start.txt", ["--start", "--count", "2"]],
            ["drill-start.json.txt", ["--start", "--json"]],
        ] as const) {
            const w = world();
            jobAnswers(
                w,
                job("COMPLETED", [launched("s-1000000000000web1", "i-0drill00000000001"), { id: "s-10000000000000db1", launch: "FAILED" }]),
            );
            const { clock } = fakeClock();
            matches(name, await cli(["drill", "-s", "target", "--outputs", outputs, ...flags], { access: () => w.access, clock }));
        }
    });
});
