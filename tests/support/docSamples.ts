// The sample outputs the docs show, produced by the tests' mocked accounts: tests/docSamples.spec.ts
// fails when a doc's block differs, and `npm run docs` writes them (scripts/docs.ts). A block sits
// between `<!-- generated: <name> ... -->` and `<!-- end generated -->`.
import { LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { DescribeJobLogItemsCommand } from "@aws-sdk/client-drs";
import * as fs from "fs";
import * as path from "path";
import { run } from "../../cli";
import { flagTables } from "../../cli/commands";
import { configurationTable } from "../../config/reference";
import { permissionsMarkdown } from "../../ops/permissions";
import { checksMarkdown } from "../../ops/verify/catalog";
import { formatResults, verify } from "../../ops/verify";
import { fleetAws } from "./readinessWorld";
import { outputs as verifyOutputs, settings as verifySettings } from "./verifyWorld";
import { run as align, stagingAccount } from "./alignWorld";
import { extendWorld, runExtend } from "./extendWorld";
import { launchWorld, runLaunch } from "./launchWorld";
import { drsAccounts, run as initialize } from "./initializeWorld";
import { db, fakeClock, job, jobAnswers, launched, logItem, noise, refused, runDrill, session, started, web, world } from "./drillWorld";

const root = path.join(__dirname, "..", "..");

export interface Sample {
    /** The doc file, from the repository root. */
    file: string;
    name: string;
    /** Markdown itself (a table), not a sample output in a code block. */
    markdown?: boolean;
    /** The code block's language (mermaid), if any. */
    language?: string;
    produce(): Promise<string>;
}

/** A drill that failed for a target role refused on the staging key: found in the target's trail only. */
async function drillDiagnosis(): Promise<string> {
    const w = world();
    jobAnswers(
        w,
        job("COMPLETED", [launched(web, "i-0drill00000000001"), { id: db, launch: "FAILED" }], {
            endDateTime: new Date(started + 8 * 60_000).toISOString(),
        }),
    );
    w.m.drillDrs.on(DescribeJobLogItemsCommand).resolves({
        items: [logItem("LAUNCH_START", db), logItem("LAUNCH_FAILED", db, "Client.InternalError: Client error on launch")],
    });
    // AWS logs a refused cross-account call only in the caller's account: the target's.
    w.m.targetTrail
        .on(LookupEventsCommand)
        .resolves({ Events: [...noise, refused("CreateGrant", session), refused("CreateGrant", session)] });
    w.m.trail.on(LookupEventsCommand).resolves({ Events: noise });
    const clock = fakeClock();
    clock.advance(10 * 60_000);
    const { out } = await runDrill(w, { mode: "drill", count: 2 }, { clock });
    return out.slice(out.indexOf("Drill job ")).trimEnd();
}

/** --diagnose three minutes after the job ended: CloudTrail may still deliver. */
async function noneYet(): Promise<string> {
    const w = world();
    jobAnswers(w, job("COMPLETED", [{ id: db, launch: "FAILED" }], { endDateTime: new Date(started + 5 * 60_000).toISOString() }));
    const clock = fakeClock();
    clock.advance(8 * 60_000);
    const { out } = await runDrill(w, { mode: "diagnose", jobs: ["drsjob-0123456789abcdef0"] }, { clock });
    return out.slice(out.indexOf("KMS refusals on ")).split("\n")[0];
}

/** align-servers on the mocked staging account: its stdout, without the trailing newline. */
async function alignSample(apply: boolean): Promise<string> {
    const { access } = stagingAccount();
    const { out } = await align(access, apply ? { apply: true, includeUnencrypted: true } : {});
    return out.trimEnd();
}

/** initialize on the shipped staging stack's config, DRS never initialised in either account; with --apply the role appears at the second read. */
async function initializeSample(apply: boolean): Promise<string> {
    const { access } = drsAccounts(["444455556666/us-east-1", "111122223333/us-east-1"], { initialised: [], roles: [], roleAfterReads: 1 });
    const { out } = await initialize(access, { apply, configFile: path.join(root, "Pulumi.staging.yaml") });
    return out.trimEnd();
}

/** extend on the mocked target and staging accounts of tests/support/extendWorld.ts. */
async function extendSample(apply: boolean): Promise<string> {
    const { out } = await runExtend(extendWorld(), apply ? { apply: true, batch: 2 } : {});
    return out.trimEnd();
}

/** align-launch on the mocked target of tests/support/launchWorld.ts. */
async function launchSample(apply: boolean): Promise<string> {
    const { out } = await runLaunch(launchWorld().access, { apply });
    return out.trimEnd();
}

/** The way back of the offline plan of a stack with failback (tests/fixtures/Pulumi.failback.yaml). */
async function failbackPlan(): Promise<string> {
    const text = await printed(["synth", "-s", "failback", "--config-file", "tests/fixtures/Pulumi.failback.yaml", "--format", "text"]);
    return text.slice(text.indexOf("The way back (failback)"), text.indexOf("\n\nOutputs:"));
}

/** What a command prints on stdout for the shipped stacks, as the docs show it. */
/** verify's per-server readiness view on the tests' mocked fleet (tests/support/readinessWorld.ts). */
async function readinessSample(): Promise<string> {
    const text = formatResults(await verify({ settings: verifySettings, outputs: verifyOutputs, stack: "staging" }, fleetAws().access));
    return text.slice(text.indexOf("Server readiness")).split("\n\n")[0];
}

async function printed(argv: string[], prompt?: string): Promise<string> {
    let out = "";
    const io = { out: (t: string) => void (out += t), err: () => undefined };
    const code = await run(argv, { io, workspace: null });
    if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}`);
    return `${prompt ? `$ ${prompt}\n` : ""}${out.trimEnd()}`;
}

export const samples: Sample[] = [
    {
        file: "docs/offline-plan.md",
        name: "synth-target-text",
        produce: () => printed(["synth", "--stack", "target", "--format", "text"], "npm run -s synth -- --stack target --format text"),
    },
    {
        file: "docs/offline-plan.md",
        name: "access-map-target",
        language: "mermaid",
        produce: () => printed(["synth", "-s", "target", "--format", "mermaid"]),
    },
    { file: "docs/failback.md", name: "synth-failback", produce: failbackPlan },
    { file: "docs/align-servers.md", name: "align-dry-run", produce: () => alignSample(false) },
    { file: "docs/align-servers.md", name: "align-apply", produce: () => alignSample(true) },
    { file: "docs/initialize.md", name: "initialize-dry-run", produce: () => initializeSample(false) },
    { file: "docs/initialize.md", name: "initialize-apply", produce: () => initializeSample(true) },
    { file: "docs/extend.md", name: "extend-dry-run", produce: () => extendSample(false) },
    { file: "docs/extend.md", name: "extend-apply", produce: () => extendSample(true) },
    { file: "docs/align-launch.md", name: "align-launch-dry-run", produce: () => launchSample(false) },
    { file: "docs/align-launch.md", name: "align-launch-apply", produce: () => launchSample(true) },
    { file: "docs/drill.md", name: "drill-diagnosis", produce: drillDiagnosis },
    { file: "docs/drill.md", name: "drill-none-yet", produce: noneYet },
    { file: "docs/permissions.md", name: "permissions", markdown: true, produce: async () => permissionsMarkdown() },
    { file: "docs/cli.md", name: "cli-flags", markdown: true, produce: async () => flagTables() },
    { file: "docs/verify.md", name: "verify-checks", markdown: true, produce: async () => checksMarkdown() },
    { file: "docs/verify.md", name: "verify-readiness", produce: readinessSample },
    { file: "docs/configuration.md", name: "configuration", markdown: true, produce: async () => configurationTable() },
];

const blockOf = (name: string) => new RegExp(`(<!-- generated: ${name}\\b[^>]*-->\\n)([\\s\\S]*?)(<!-- end generated -->)`);
/** A sample in a code block, or as Markdown itself (the permissions table). */
const body = (sample: Sample, text: string) => (sample.markdown ? `${text}\n` : `\`\`\`${sample.language ?? ""}\n${text}\n\`\`\`\n`);

/** The block of `sample` in its doc as it stands, or undefined when the doc has no such block. */
export function current(sample: Sample): string | undefined {
    return blockOf(sample.name).exec(fs.readFileSync(path.join(root, sample.file), "utf8"))?.[2];
}

export async function expected(sample: Sample): Promise<string> {
    return body(sample, await sample.produce());
}

/** Writes each sample into its doc's block; returns the docs changed. */
export async function writeSamples(): Promise<string[]> {
    const changed = new Set<string>();
    for (const sample of samples) {
        const file = path.join(root, sample.file);
        const text = fs.readFileSync(file, "utf8");
        if (!blockOf(sample.name).test(text)) throw new Error(`${sample.file} has no block "<!-- generated: ${sample.name} -->"`);
        const next = text.replace(
            blockOf(sample.name),
            (_, open: string, _old: string, close: string) => `${open}${body(sample, "\0")}${close}`,
        );
        const filled = next.replace(body(sample, "\0"), await expected(sample));
        if (filled !== text) {
            fs.writeFileSync(file, filled);
            changed.add(sample.file);
        }
    }
    return [...changed];
}
