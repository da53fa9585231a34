import { expect } from "chai";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { Fakes, fakes } from "./support/fakeTools";

// The GitHub workflows users copy into their repositories, checked as data.
const root = path.join(__dirname, "..");
type Step = {
    name?: string;
    id?: string;
    uses?: string;
    run?: string;
    if?: string;
    with?: Record<string, unknown>;
    env?: Record<string, string>;
    "timeout-minutes"?: number;
};
type Job = { needs?: string | string[]; steps: Step[]; strategy?: { "fail-fast"?: boolean; matrix?: { stack?: string[] } } };
type Workflow = {
    on: Record<string, unknown>;
    env?: Record<string, string>;
    permissions?: Record<string, string>;
    concurrency?: { group: string; "cancel-in-progress": boolean };
    jobs: Record<string, Job>;
};

const load = (name: string): Workflow => yaml.load(fs.readFileSync(path.join(root, ".github/workflows", name), "utf8")) as Workflow;
const text = (name: string) => fs.readFileSync(path.join(root, ".github/workflows", name), "utf8");
const pulumiStep = (job: Job) => job.steps.find((s) => s.uses?.startsWith("pulumi/actions@"))!;

describe("workflows", () => {
    it("ci: on every push and pull request, installs, lints, type-checks and tests, in that order", () => {
        const ci = load("ci.yml");
        expect(Object.keys(ci.on)).to.deep.equal(["push", "pull_request"]);
        const runs = ci.jobs.test.steps.filter((s) => s.run).map((s) => s.run);
        expect(runs).to.deep.equal(["npm ci", "npm run lint", "npm run typecheck", "npx mocha", "npm run test:example"]);
        expect(ci.permissions).to.deep.equal({ contents: "read" });
    });

    for (const [file, command] of [
        ["preview.yml", "preview"],
        ["deploy.yml", "up"],
    ] as const) {
        describe(file, () => {
            const workflow = load(file);

            it(`runs ${command} on the staging stacks in parallel, then the target stack`, () => {
                expect(Object.keys(workflow.jobs)).to.deep.equal(["staging", "target"]);
                expect(workflow.jobs.target.needs).to.equal("staging");
                const stacks = workflow.jobs.staging.strategy!.matrix!.stack!;
                expect(stacks).to.deep.equal(["staging"]);
                for (const stack of [...stacks, "target"])
                    expect(fs.existsSync(path.join(root, `Pulumi.${stack}.yaml`)), stack).to.equal(true);
                expect(pulumiStep(workflow.jobs.staging).with).to.include({
                    command,
                    "stack-name": "${{ matrix.stack }}",
                    policyPacks: "policy",
                });
                expect(pulumiStep(workflow.jobs.target).with).to.include({ command, "stack-name": "target", policyPacks: "policy" });
            });

            it("installs with npm ci before running Pulumi", () => {
                for (const job of Object.values(workflow.jobs)) {
                    const install = job.steps.findIndex((s) => s.run === "npm ci");
                    expect(install).to.be.greaterThan(-1);
                    expect(install).to.be.lessThan(job.steps.indexOf(pulumiStep(job)));
                }
            });

            it("gets AWS credentials through OIDC, never from stored keys", () => {
                expect(workflow.permissions!["id-token"]).to.equal("write");
                for (const job of Object.values(workflow.jobs)) {
                    const aws = job.steps.find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"))!;
                    expect(aws.with).to.have.property("role-to-assume");
                    expect(aws.with).not.to.have.any.keys("aws-access-key-id", "aws-secret-access-key");
                }
                expect(text(file)).not.to.match(/AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|aws-access-key-id/);
            });

            it("pins every action to a major version", () => {
                for (const job of Object.values(workflow.jobs)) {
                    for (const step of job.steps.filter((s) => s.uses)) expect(step.uses).to.match(/^[\w-]+\/[\w-]+@v\d+$/);
                }
            });
        });
    }

    it("preview: on pull requests only, commenting, and superseded runs cancelled", () => {
        const preview = load("preview.yml");
        expect(Object.keys(preview.on)).to.deep.equal(["pull_request"]);
        expect(preview.permissions).to.deep.equal({ contents: "read", "id-token": "write", "pull-requests": "write" });
        expect(preview.concurrency).to.deep.equal({ group: "preview-${{ github.event.pull_request.number }}", "cancel-in-progress": true });
        for (const job of Object.values(preview.jobs)) expect(pulumiStep(job).with).to.include({ "comment-on-pr": true });
    });

    it("deploy: verifies each stack against AWS right after its pulumi up; findings (exit 1) fail the job", () => {
        const deploy = load("deploy.yml");
        for (const [job, stack] of [
            ["staging", "${{ matrix.stack }}"],
            ["target", "target"],
        ] as const) {
            const steps = deploy.jobs[job].steps;
            const up = steps.indexOf(pulumiStep(deploy.jobs[job]));
            const verify = steps.findIndex((s) => s.run?.startsWith("npm run -s verify"));
            expect(verify, job).to.equal(up + 1);
            // The Pulumi CLI that pulumi/actions installed gives verify the stack's outputs: no --outputs file.
            expect(steps[verify].run!.trim()).to.equal(`npm run -s verify -- --stack ${stack === "target" ? "target" : `"${stack}"`}`);
            // No `if:` and no `|| true`: a failed check's exit code 1 fails the step, and so the job.
            expect(steps[verify].if).to.equal(undefined);
            expect(steps[verify].run).not.to.match(/\|\||continue-on-error/);
        }
        expect(deploy.jobs.target.needs).to.equal("staging"); // staging stacks verified first
    });

    /** Per preview job and its stack, the step that adds `marker`'s output to the job summary: after the preview, run even when it failed. */
    const summarySteps = (marker: string) => {
        const preview = load("preview.yml");
        return (
            [
                ["staging", "${{ matrix.stack }}"],
                ["target", "target"],
            ] as const
        ).map(([job, stack]) => {
            const steps = preview.jobs[job].steps;
            const step = steps.find((s) => s.run?.includes(marker))!;
            expect(step, job).not.to.equal(undefined);
            expect(steps.indexOf(step)).to.be.greaterThan(steps.indexOf(pulumiStep(preview.jobs[job])));
            expect(step.if).to.equal("${{ !cancelled() }}");
            expect(step.run!.trim().split("\n").pop()).to.equal('exit "$status"');
            return { stack, run: step.run! };
        });
    };

    it("preview: adds the access report to each job's summary, and fails the job on a mismatch", () => {
        for (const { stack, run } of summarySteps("npm run -s access-report")) {
            expect(run).to.include(`npm run -s access-report -- --stack "${stack}" > access-report.txt || status=$?`);
            expect(run).to.include('>> "$GITHUB_STEP_SUMMARY"');
        }
    });

    it("preview: adds the access map of each stack to its job's summary as a Mermaid block, also when the preview failed", () => {
        for (const { stack, run } of summarySteps("--format mermaid")) {
            expect(run).to.include(`npm run -s synth -- --stack "${stack}" --format mermaid > access-map.mmd || status=$?`);
            expect(run).to.include("echo '```mermaid'; cat access-map.mmd; echo '```'; } >> \"$GITHUB_STEP_SUMMARY\"");
        }
    });

    it("deploy: on main only, one at a time, never cancelled mid-run", () => {
        const deploy = load("deploy.yml");
        expect(deploy.on).to.deep.equal({ push: { branches: ["main"] } });
        expect(deploy.concurrency).to.deep.equal({ group: "deploy", "cancel-in-progress": false });
        expect(deploy.permissions).to.deep.equal({ contents: "read", "id-token": "write" });
    });

    describe("verify.yml", () => {
        const verify = load("verify.yml");
        const preview = load("preview.yml");
        const job = verify.jobs.verify;
        const step = {
            checkout: (s: Step) => s.uses?.startsWith("actions/checkout@"),
            "setup-node": (s: Step) => s.uses?.startsWith("actions/setup-node@"),
            "npm ci": (s: Step) => s.run === "npm ci",
            credentials: (s: Step) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"),
            "Pulumi CLI": (s: Step) => s.uses?.startsWith("pulumi/actions@"),
            verify: (s: Step) => s.id === "verify",
            upload: (s: Step) => s.uses?.startsWith("actions/upload-artifact@"),
            report: (s: Step) => s.name === "report",
        };
        const find = (name: keyof typeof step) => job.steps.find(step[name])!;
        /** A step's `run` with these expressions filled in as GitHub would; any other expression fails the test. */
        const expand = (run: string, values: Record<string, string>) =>
            run.replace(/\$\{\{\s*(.+?)\s*\}\}/g, (_, expr: string) => {
                expect(values, `an expression the test does not know: ${expr}`).to.have.property(expr);
                return values[expr];
            });

        it("runs daily on a schedule (not on the hour) and by hand, on nothing else", () => {
            expect(Object.keys(verify.on)).to.deep.equal(["schedule", "workflow_dispatch"]);
            const schedule = verify.on.schedule as { cron: string }[];
            expect(schedule).to.have.length(1);
            // minute hour * * *: once a day; minute 0 is when GitHub delays or drops scheduled runs.
            const [minute, hour, ...rest] = schedule[0].cron.split(" ");
            expect(rest).to.deep.equal(["*", "*", "*"]);
            expect(Number(minute)).to.be.within(1, 59);
            expect(Number(hour)).to.be.within(0, 23);
            expect(text("verify.yml")).to.match(/^# Daily/);
        });

        it("may read the code, get OIDC tokens and write issues, nothing more; one run at a time, never cancelled", () => {
            expect(verify.permissions).to.deep.equal({ contents: "read", "id-token": "write", issues: "write" });
            expect(verify.concurrency).to.deep.equal({ group: "verify", "cancel-in-progress": false });
        });

        it("checks every stack: the preview's staging stacks and the target, one job each, none stopping the others", () => {
            expect(Object.keys(verify.jobs)).to.deep.equal(["verify"]);
            expect(job.strategy!["fail-fast"]).to.equal(false);
            const stacks = job.strategy!.matrix!.stack!;
            expect(stacks).to.deep.equal([...preview.jobs.staging.strategy!.matrix!.stack!, "target"]);
            const files = fs
                .readdirSync(root)
                .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
                .filter(Boolean);
            expect([...stacks].sort()).to.deep.equal(files.sort());
        });

        it("runs its steps in order: checkout, setup-node, npm ci, credentials, the Pulumi CLI, verify, upload, report", () => {
            const names = Object.keys(step) as (keyof typeof step)[];
            const at = names.map((name) => job.steps.findIndex(step[name]));
            expect(at).to.deep.equal(names.map((_, i) => i));
            expect(job.steps).to.have.length(names.length);
        });

        it("pins the actions as preview.yml does: the same ones at the same major version, the others at a major version", () => {
            const previewRefs = new Map(
                preview.jobs.staging.steps.filter((s) => s.uses).map((s) => s.uses!.split("@") as [string, string]),
            );
            for (const s of job.steps.filter((s) => s.uses)) {
                expect(s.uses).to.match(/^[\w-]+\/[\w-]+@v\d+$/);
                const [action, ref] = s.uses!.split("@");
                if (action !== "actions/upload-artifact") expect(ref, action).to.equal(previewRefs.get(action));
            }
            expect(find("setup-node").with).to.deep.equal(preview.jobs.staging.steps.find(step["setup-node"])!.with);
            expect(verify.env).to.deep.equal(preview.env); // PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE
        });

        it("assumes each stack's role from VERIFY_ROLE_ARNS, else AWS_ROLE_ARN, through OIDC, never stored keys", () => {
            const aws = find("credentials");
            expect(aws.with).to.deep.equal({
                "role-to-assume": "${{ fromJSON(vars.VERIFY_ROLE_ARNS || '{}')[matrix.stack] || vars.AWS_ROLE_ARN }}",
                "aws-region": preview.jobs.staging.steps.find(step.credentials)!.with!["aws-region"],
            });
            expect(text("verify.yml")).not.to.match(/AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|aws-access-key-id/);
            // Installs the Pulumi CLI only (no command): verify reads the stack through it, and changes nothing.
            expect(find("Pulumi CLI").with).to.equal(undefined);
        });

        it("uploads the JSON and the log, and reports, also when verify failed; the report is told the exit code", () => {
            for (const name of ["upload", "report"] as const) expect(find(name).if, name).to.equal("${{ !cancelled() }}");
            expect(find("verify").if).to.equal(undefined);
            expect(find("upload").with).to.include({ name: "verify-${{ matrix.stack }}" });
            expect(String(find("upload").with!.path).trim().split("\n")).to.deep.equal([
                "verify-${{ matrix.stack }}.json",
                "verify-${{ matrix.stack }}.log",
            ]);
            expect(find("report").env).to.deep.equal({
                GH_TOKEN: "${{ github.token }}",
                GH_REPO: "${{ github.repository }}",
                ALERT_TOPIC_ARN: "${{ vars.ALERT_TOPIC_ARN }}",
            });
            expect(find("report").run).to.include('--exit "${{ steps.verify.outputs.exit }}"');
        });

        describe("verify, then the report, as the job runs them (fake npm, gh and aws)", () => {
            let env: Fakes;
            before(() => (env = fakes(root)));
            after(() => fs.rmSync(env.dir, { recursive: true, force: true }));
            const results = JSON.stringify([{ check: "key-state", scope: "444455556666/us-east-1", status: "PASS", message: "Enabled." }]);
            const open = [{ number: 5, title: "verify: staging", body: "", url: "https://github.com/acme/dr/issues/5", labels: [] }];

            /** The verify step with npm exiting `code`, then the report step with its exit output, an issue open. */
            const runJob = (code: number) => {
                const verifyRun = env.bash(expand(find("verify").run!, { "matrix.stack": "staging" }), {
                    FAKE_EXIT: String(code),
                    FAKE_STDOUT: results,
                });
                const exit = /^exit=(.*)$/m.exec(verifyRun.output)?.[1] ?? "";
                const reportRun = env.bash(expand(find("report").run!, { "matrix.stack": "staging", "steps.verify.outputs.exit": exit }), {
                    FAKE_ISSUES: JSON.stringify(open),
                });
                const gh = reportRun.calls.filter((c) => c.tool === "gh").map((c) => c.args.slice(0, 2).join(" "));
                return { verifyRun, exit, reportRun, gh };
            };

            for (const code of [0, 1, 2, 3]) {
                it(`verify exiting ${code}: the step keeps the JSON and the log, outputs exit=${code} and fails unless 0`, () => {
                    const { verifyRun, exit } = runJob(code);
                    expect(verifyRun.status).to.equal(code);
                    expect(exit).to.equal(String(code));
                    expect(verifyRun.calls[0].args).to.deep.equal(["run", "-s", "verify", "--", "-s", "staging", "--json"]);
                    expect(fs.readFileSync(path.join(env.dir, "verify-staging.json"), "utf8")).to.equal(results);
                    expect(fs.readFileSync(path.join(env.dir, "verify-staging.log"), "utf8")).to.equal("verify: progress\n");
                    expect(verifyRun.stderr).to.include("verify: progress"); // and in the job's log
                });
            }

            for (const [code, action, words] of [
                [0, "issue close", "every check ran and none failed"],
                [1, "issue edit", "a check failed"],
                [2, "issue edit", "verify could not run (exit 2)"],
                [3, "issue edit", "not a pass"],
            ] as const) {
                it(`verify exiting ${code}: the report does \`gh ${action}\` on the stack's open issue (${words})`, () => {
                    const { reportRun, gh } = runJob(code);
                    expect(reportRun.status, reportRun.stderr).to.equal(0);
                    expect(gh).to.include(action);
                    expect(gh.includes("issue close")).to.equal(code === 0);
                    expect(reportRun.summary).to.include(words);
                });
            }

            it("verify never ran (an earlier step failed): no exit code, reported as not passing", () => {
                fs.rmSync(path.join(env.dir, "verify-staging.json"), { force: true });
                const run = env.bash(expand(find("report").run!, { "matrix.stack": "staging", "steps.verify.outputs.exit": "" }), {
                    FAKE_ISSUES: "[]",
                });
                expect(run.status, run.stderr).to.equal(0);
                expect(run.calls.map((c) => c.args.slice(0, 2).join(" "))).to.deep.equal(["issue list", "label create", "issue create"]);
                expect(run.summary).to.include("verify did not finish");
            });
        });
    });
});
