// A third-party SCIM 2.0 service provider for the SCIM sink's tests, built
// the way SCIMMY's documentation says a service provider is built: SCIMMY
// (schemas, filters, PATCH, list responses) behind the scimmy-routers
// express middleware, with in-memory storage in the User resource's
// ingress/egress/degress handlers.
//
// It registers only the core User schema and the enterprise extension
// (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User, optional),
// as a real provider would: nothing of hrissync's; and the core Group
// resource (SCIMMY.Resources.Group), stored the same way.
//
// Environment: SCIM_TOKEN (required; every request must carry
// "Authorization: Bearer <SCIM_TOKEN>"), PORT (0 or unset: any free port),
// SCIM_LMS_EXTENSION (if "1", the User resource type also declares an
// optional extension of the provider's own, as a learning platform would:
// urn:ietf:params:scim:schemas:extension:example-lms:2.0:User, with the string
// attributes skills, proficiency and certifiedOn; unset, nothing changes).
// Prints exactly one line to stdout once ready:
//
//	listening http://127.0.0.1:<port>/scim/v2
//
// Test-only endpoints, outside the SCIM base (same bearer token):
//
//	GET  /_state  every stored User, as stored (JSON array, oldest first)
//	GET  /_groups every stored Group, as stored (JSON array, oldest first)
//	POST /_seedGroup  store a Group as if made by hand on the provider
//	POST /_seed   store a User as if created outside SCIM (e.g. by SSO
//	              just-in-time provisioning: send no externalId); answers
//	              201 with the stored User, or SCIM errors as POST /Users does
//
// Left as SCIMMY and express have them: meta.version is set here, but
// ServiceProviderConfig says etag unsupported and If-Match is ignored; the
// ETag response header is express's default (a hash of the body).
//
// It exits when stdin closes (so a killed parent never leaves it running),
// and on SIGTERM or SIGINT.
import {randomUUID} from "node:crypto";
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";

const token = process.env.SCIM_TOKEN ?? "";
if (token === "") {
    console.error("SCIM_TOKEN must be set");
    process.exit(2);
}
const port = Number(process.env.PORT || 0);

// id -> stored User (a plain JSON object: what SCIMMY's ingress handed over,
// plus id and meta). A Map keeps insertion order, so lists are oldest first.
const users = new Map();
let version = 0;

const plain = (value) => JSON.parse(JSON.stringify(value));
const notFound = (id) => new SCIMMY.Types.Error(404, null, `Resource ${id} not found`);

// handlers store the resources of one type in store, a Map of id -> stored
// resource. SCIMMY parses, validates and applies PATCH (egress, then
// ingress of the result); the handlers only store. unique, if given, refuses
// a resource that would break a uniqueness rule of the type.
function handlers(resourceType, store, unique = () => {}) {
    return {
        // ingress: create (resource.id unset) or replace (PUT, and the
        // result of a PATCH that SCIMMY has already applied to what egress
        // returned).
        async ingress(resource, instance) {
            const existing = resource.id === undefined ? undefined : store.get(resource.id);
            if (resource.id !== undefined && existing === undefined) throw notFound(resource.id);
            const data = plain(instance);
            unique(data, resource.id);
            const id = existing?.id ?? randomUUID();
            const now = new Date().toISOString();
            delete data.id;
            const stored = {
                schemas: data.schemas,
                id,
                ...data,
                meta: {
                    resourceType,
                    created: existing?.meta.created ?? now,
                    lastModified: now,
                    version: `W/"${++version}"`,
                },
            };
            store.set(id, stored);
            return plain(stored);
        },
        // egress: one resource by id, or the list. Filtering is the handler's job in
        // SCIMMY's contract (ListResponse only sorts and paginates what egress
        // returns); SCIMMY's own matcher, Filter#match, is what its documentation
        // offers for it, and is used here on the filter SCIMMY parsed. Two gaps of
        // that matcher are bridged, so that eq works as RFC 7644 §3.4.2.2 says on
        // what a client searches (externalId, userName, emails.value, and the
        // enterprise employeeNumber):
        //   - it looks a URN-qualified attribute
        //     (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber)
        //     up as one flat key, while a User carries the extension as one nested
        //     object: the view it is given has each extension attribute under its
        //     qualified name too;
        //   - it compares strings exactly, while every string attribute of User
        //     and EnterpriseUser is caseExact false except id and externalId
        //     (RFC 7643 §3.1, §4.1, §4.3): both the view and the filter's operands
        //     are lower-cased, except under id, externalId and meta.
        async egress(resource) {
            if (resource.id !== undefined) {
                const found = store.get(resource.id);
                if (found === undefined) throw notFound(resource.id);
                return plain(found);
            }
            const all = [...store.values()].map(plain);
            if (!resource.filter) return all;
            const filter = new SCIMMY.Types.Filter(fold(plain(resource.filter), ""));
            return all.filter((r) => filter.match([view(r)]).length > 0);
        },
        async degress(resource) {
            if (!store.delete(resource.id)) throw notFound(resource.id);
        },
    };
}

// userName: uniqueness "server", caseExact false (RFC 7643 §4.1.1). SCIMMY
// has no storage, so uniqueness is the handler's to enforce.
function uniqueUserName(data, id) {
    const userName = String(data.userName ?? "").toLowerCase();
    for (const [other, user] of users) {
        if (other !== id && String(user.userName).toLowerCase() === userName)
            throw new SCIMMY.Types.Error(409, "uniqueness", `userName "${data.userName}" is already taken`);
    }
}

const keepCase = new Set(["id", "externalid", "meta"]);

function fold(value, key) {
    if (keepCase.has(key.toLowerCase())) return value;
    if (typeof value === "string") return value.toLowerCase();
    if (Array.isArray(value)) return value.map((v) => fold(v, key));
    if (value !== null && typeof value === "object")
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fold(v, k)]));
    return value;
}

function view(user) {
    const flat = {...user};
    for (const [urn, ext] of Object.entries(user)) {
        if (!urn.startsWith("urn:") || ext === null || typeof ext !== "object" || Array.isArray(ext)) continue;
        for (const [name, value] of Object.entries(ext)) flat[`${urn}:${name}`] = value;
    }
    return fold(flat, "");
}

const extensions = [{schema: SCIMMY.Schemas.EnterpriseUser, required: false}];
if (process.env.SCIM_LMS_EXTENSION === "1") {
    // Registered through SCIMMY's schema extension API: a SchemaDefinition
    // of its own URN, declared on the User resource type (and so listed by
    // /Schemas and /ResourceTypes).
    const lms = new SCIMMY.Types.SchemaDefinition("LmsUser", "urn:ietf:params:scim:schemas:extension:example-lms:2.0:User",
        "Learning platform attributes of a User", [
            new SCIMMY.Types.Attribute("string", "skills", {description: "The learner's skills, as one list."}),
            new SCIMMY.Types.Attribute("string", "proficiency", {description: "The learner's proficiency rating."}),
            new SCIMMY.Types.Attribute("string", "certifiedOn", {description: "When the learner was certified."}),
        ]);
    extensions.push({schema: lms, required: false});
}

SCIMMY.Resources.declare(SCIMMY.Resources.User, {
    ...handlers("User", users, uniqueUserName),
    extensions,
});

// Groups (RFC 7643 §4.2), stored as Users are. displayName is not unique,
// as RFC 7643 leaves it.
const groups = new Map();

SCIMMY.Resources.declare(SCIMMY.Resources.Group, handlers("Group", groups));

const authorized = (req) => req.header("Authorization") === `Bearer ${token}`;

const app = express();
app.disable("x-powered-by");

app.use("/scim/v2", new SCIMMYRouters({
    type: "bearer",
    handler: (req) => {
        if (!authorized(req)) throw new Error("Invalid or missing bearer token");
        return "hrissync-test";
    },
    // Absolute meta.location values, as a deployed provider gives.
    baseUri: (req) => `http://${req.header("Host")}`,
}));

const requireToken = (req, res, next) => {
    if (authorized(req)) next();
    else res.status(401).json({detail: "Invalid or missing bearer token", status: "401"});
};

app.get("/_state", requireToken, (req, res) => {
    res.json([...users.values()]);
});

app.get("/_groups", requireToken, (req, res) => {
    res.json([...groups.values()]);
});

// POST /_seedGroup stores a Group as if made by hand on the provider.
app.post("/_seedGroup", requireToken, express.json({type: ["application/json", "application/scim+json"]}), async (req, res) => {
    try {
        const created = await new SCIMMY.Resources.Group().write(req.body);
        res.status(201).json(groups.get(created.id));
    } catch (ex) {
        res.status(ex.status ?? 500).json(new SCIMMY.Messages.Error(ex));
    }
});

app.post("/_seed", requireToken, express.json({type: ["application/json", "application/scim+json"]}), async (req, res) => {
    try {
        const created = await new SCIMMY.Resources.User().write(req.body);
        res.status(201).json(users.get(created.id));
    } catch (ex) {
        res.status(ex.status ?? 500).json(new SCIMMY.Messages.Error(ex));
    }
});

const server = app.listen(port, "127.0.0.1", (err) => {
    if (err) {
        console.error(err);
        process.exit(1);
    }
    process.stdout.write(`listening http://127.0.0.1:${server.address().port}/scim/v2\n`);
});
server.on("error", (err) => {
    console.error(err);
    process.exit(1);
});

const stop = () => {
    server.closeAllConnections?.();
    server.close();
    process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.on("error", stop);
process.stdin.resume();
