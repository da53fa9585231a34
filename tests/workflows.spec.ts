import { expect } from "chai";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";

// The GitHub workflows users copy into their repositories, checked as data.
const root = path.join(__dirname, "..");
type Step = { name?: string; uses?: string; run?: string; if?: string; with?: Record<string, unknown> };
type Job = { needs?: string | string[]; steps: Step[]; strategy?: { matrix?: { stack?: string[] } } };
type Workflow = {
    on: Record<string, unknown>;
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
});
