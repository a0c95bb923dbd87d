// client.mjs BASEURL: Better Auth's own client SDK (better-auth/client,
// as an app would use it, with the bearer plugin's way of keeping the
// token) against certaosd.  Each step asserts what the app would see;
// the last line is "sdk: N steps ok".  Run by regress/e2e/sdk.sh.
import assert from "node:assert/strict";
import { createAuthClient } from "better-auth/client";

const baseURL = process.argv[2];
let token = "";
let steps = 0;
const client = createAuthClient({
	baseURL,
	fetchOptions: {
		auth: { type: "Bearer", token: () => token },
		onSuccess: (ctx) => {
			const t = ctx.response.headers.get("set-auth-token");
			if (t) token = t;
		},
	},
});

async function step(name, fn) {
	try {
		await fn();
	} catch (e) {
		console.error(`sdk: ${name}: ${e.message}`);
		process.exit(1);
	}
	steps++;
	console.log(`sdk: ${name}: ok`);
}

const email = "Sdk.User@Example.com";
await step("signUp.email", async () => {
	const { data, error } = await client.signUp.email({
		name: "Sdk User", email, password: "password123",
	});
	assert.equal(error, null);
	assert.equal(data.user.email, "sdk.user@example.com");
	assert.equal(data.user.name, "Sdk User");
	assert.equal(data.user.emailVerified, false);
	assert.match(data.token, /^[A-Za-z0-9]{32}$/);
	assert.match(token, /^[A-Za-z0-9]{32}\./);
});
await step("getSession", async () => {
	const { data, error } = await client.getSession();
	assert.equal(error, null);
	assert.equal(data.user.email, "sdk.user@example.com");
	assert.equal(data.session.userId, data.user.id);
	assert.ok(new Date(data.session.expiresAt) > new Date());
});
await step("signUp.email taken", async () => {
	const { data, error } = await client.signUp.email({
		name: "Again", email, password: "password123",
	});
	assert.equal(data, null);
	assert.equal(error.status, 422);
	assert.equal(error.code, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL");
});
await step("signIn.email wrong password", async () => {
	const { data, error } = await client.signIn.email({
		email, password: "wrong-password",
	});
	assert.equal(data, null);
	assert.equal(error.status, 401);
	assert.equal(error.code, "INVALID_EMAIL_OR_PASSWORD");
});
let first;
await step("signIn.email", async () => {
	first = token;
	const { data, error } = await client.signIn.email({
		email, password: "password123",
	});
	assert.equal(error, null);
	assert.equal(data.redirect, false);
	assert.equal(data.user.email, "sdk.user@example.com");
	assert.notEqual(token, first);
});
await step("listSessions", async () => {
	const { data, error } = await client.listSessions();
	assert.equal(error, null);
	assert.equal(data.length, 2);
});
await step("updateUser", async () => {
	const { data, error } = await client.updateUser({ name: "Renamed" });
	assert.equal(error, null);
	assert.equal(data.status, true);
	const s = await client.getSession();
	assert.equal(s.data.user.name, "Renamed");
});
await step("revokeOtherSessions", async () => {
	const { data, error } = await client.revokeOtherSessions();
	assert.equal(error, null);
	assert.equal(data.status, true);
	const l = await client.listSessions();
	assert.equal(l.data.length, 1);
	const saved = token;
	token = first;
	const s = await client.getSession();
	token = saved;
	assert.equal(s.data, null);
});
await step("changePassword", async () => {
	const { data, error } = await client.changePassword({
		currentPassword: "password123", newPassword: "password456",
	});
	assert.equal(error, null);
	assert.equal(data.user.email, "sdk.user@example.com");
	const bad = await client.changePassword({
		currentPassword: "password123", newPassword: "password789",
	});
	assert.equal(bad.error.status, 400);
	assert.equal(bad.error.code, "INVALID_PASSWORD");
});
await step("signOut", async () => {
	const { data, error } = await client.signOut();
	assert.equal(error, null);
	assert.equal(data.success, true);
	const s = await client.getSession();
	assert.equal(s.data, null);
});
await step("signIn.email new password", async () => {
	token = "";
	const { error } = await client.signIn.email({
		email, password: "password456",
	});
	assert.equal(error, null);
	const s = await client.getSession();
	assert.equal(s.data.user.name, "Renamed");
});
console.log(`sdk: ${steps} steps ok`);
