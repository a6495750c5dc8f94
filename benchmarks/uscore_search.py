#!/usr/bin/env python3
"""US Core's searches, side by side: hds-vault, then the HAPI FHIR JPA starter (the peer of
../shared/peer/), one after the other in one invocation, same machine, same data (the Synthea
bundles, ingested once), same client. For each search: the p50 and p99 latency of its first
page, over every patient of the load, in a random order, with one client.

Usage: uscore_search.py VAULT_JAR HAPI_WAR SAMPLES_DIR [rounds]
       (PEER_DB=pg puts both servers on the local PostgreSQL, as peer.py does;
        ONLY=REGEX keeps the searches it matches, VAULT_ONLY=1 skips HAPI, VAULT_JAVA_OPTS adds JVM
        options such as a JFR recording: for finding where a search spends its time, not for figures)
Prints one JSON line per server, then a table of p50/p99 and the vault/HAPI p50 ratio.
The figures go into docs/performance.md, "US Core searches against HAPI"."""
import gzip, http.client, json, os, random, shutil, socket, ssl, subprocess, sys, tempfile, time, urllib.parse

VAULT_JAR, HAPI_WAR, SAMPLES = sys.argv[1], sys.argv[2], sys.argv[3]
ROUNDS = int(sys.argv[4]) if len(sys.argv) > 4 else 3
PG = os.environ.get("PEER_DB") == "pg"
VAULT_ONLY = os.environ.get("VAULT_ONLY") == "1"

# One search per US Core SHALL/SHOULD combination the vault serves, then includes and chains; {…} filled per patient.
SEARCHES = [
    "Patient?_id={pid}",
    "Patient?identifier={identifier}",
    "Patient?name={name4}",
    "Patient?family={family}",
    "Patient?given={given}",
    "Patient?birthdate={birthdate}&name={family}",
    "Patient?gender={gender}&name={family}",
    "Patient?family={family}&gender={gender}",
    "Observation?patient={pid}&category=vital-signs",
    "Observation?patient={pid}&category=laboratory&date=ge2015-01-01",
    "Observation?patient={pid}&code=http://loinc.org|8302-2",
    "Observation?patient={pid}&code=http://loinc.org|8302-2&date=ge2015",
    "Observation?patient={pid}&category=vital-signs&_sort=-date",
    "Condition?patient={pid}",
    "Condition?patient={pid}&clinical-status=active",
    "Condition?patient={pid}&onset-date=ge2010",
    "Encounter?patient={pid}",
    "Encounter?patient={pid}&date=ge2015",
    "Encounter?patient={pid}&class=AMB",
    "Encounter?patient={pid}&status=finished",
    "MedicationRequest?patient={pid}&intent=order",
    "MedicationRequest?patient={pid}&intent=order&status=active",
    "MedicationRequest?patient={pid}&intent=order&authoredon=ge2015",
    "Procedure?patient={pid}",
    "Procedure?patient={pid}&date=ge2015",
    "Immunization?patient={pid}",
    "Immunization?patient={pid}&date=ge2015",
    "DiagnosticReport?patient={pid}&category=LAB",
    "DiagnosticReport?patient={pid}&category=LAB&date=ge2015",
    "AllergyIntolerance?patient={pid}",
    "AllergyIntolerance?patient={pid}&clinical-status=active",
    "CarePlan?patient={pid}&status=active",
    "CareTeam?patient={pid}&status=active",
    "DocumentReference?patient={pid}",
    "MedicationRequest?patient={pid}&intent=order&_include=MedicationRequest:medication",
    "Encounter?patient={pid}&_include=Encounter:practitioner&_include=Encounter:service-provider",
    "Encounter?patient={pid}&_revinclude=Provenance:target",
    "Patient?_id={pid}&_revinclude=Condition:patient",
    "Observation?patient.identifier={identifier}&code=http://loinc.org|8302-2",
    "Encounter?patient.family={family}&status=finished",
]
if os.environ.get("ONLY"):
    import re
    SEARCHES = [s for s in SEARCHES if re.search(os.environ["ONLY"], s)]


def fresh_db(name):
    for sql in ("drop database if exists %s" % name, "create database %s" % name):
        subprocess.check_call(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql])
    return "jdbc:postgresql://127.0.0.1:5432/" + name


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


class Client:
    def __init__(self, host, port, ctx, token):
        self.host, self.port, self.ctx, self.token, self.c = host, port, ctx, token, None

    def req(self, method, path, body=None):
        h = {"Accept": "application/fhir+json"}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        if body is not None:
            h["Content-Type"] = "application/fhir+json"
        for attempt in range(2):
            try:
                if self.c is None:
                    self.c = (http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=300) if self.ctx
                              else http.client.HTTPConnection(self.host, self.port, timeout=300))
                self.c.request(method, path, body=body, headers=h)
                r = self.c.getresponse()
                return r.status, r.read()
            except (http.client.HTTPException, OSError):
                self.c = None
                if attempt:
                    raise


def patients():
    """The values each search is filled with, read from the bundles (not from either server)."""
    out = []
    for f in sorted(x for x in os.listdir(SAMPLES) if x.endswith(".json.gz")):
        bundle = json.loads(gzip.open(os.path.join(SAMPLES, f)).read())
        p = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
        ident = next(i for i in p["identifier"] if "system" in i)
        name = p["name"][0]
        out.append({"identifier": ident["system"] + "|" + ident["value"], "family": name["family"],
                    "name4": name["family"][:4], "given": name["given"][0], "birthdate": p["birthDate"],
                    "gender": p["gender"]})
    return out


def pct(xs, p):
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(p * len(xs)))] * 1000, 2)


def measure(name, client):
    data = patients()
    t0 = time.time()
    for f in sorted(x for x in os.listdir(SAMPLES) if x.endswith(".json.gz")):
        code, resp = client.req("POST", "/fhir", gzip.open(os.path.join(SAMPLES, f)).read())
        if code != 200:
            raise SystemExit("%s: ingest of %s answered %d" % (name, f, code))
        locations = [e["response"]["location"] for e in json.loads(resp)["entry"]]
        pid = next(l for l in locations if l.startswith("Patient/")).split("/")[1]
        data[len([d for d in data if "pid" in d])]["pid"] = pid
    ingest_s = time.time() - t0
    work = [(s, d) for s in SEARCHES for d in data for _ in range(ROUNDS)]
    random.Random(20261204).shuffle(work)
    for s, d in work[:200]:  # warm-up: both servers' JITs and caches, not measured
        client.req("GET", "/fhir/" + fill(s, d))
    lat = {s: [] for s in SEARCHES}
    matches = {s: 0 for s in SEARCHES}
    errors = {}
    for s, d in work:
        t = time.perf_counter()
        code, body = client.req("GET", "/fhir/" + fill(s, d))
        elapsed = time.perf_counter() - t
        if code != 200:
            errors[s] = errors.get(s, 0) + 1
            continue
        lat[s].append(elapsed)
        matches[s] += len(json.loads(body).get("entry", []))
    return {"server": name, "ingest_s": round(ingest_s, 1), "errors": errors,
            "searches": {s: {"p50_ms": pct(v, .5), "p99_ms": pct(v, .99), "first_page_entries": matches[s]}
                         for s, v in lat.items() if v}}


def fill(search, d):
    """The search with each value filled in and URL-encoded (the | of system|code kept, as clients send it)."""
    path, query = search.split("?")
    pairs = [kv.split("=", 1) for kv in query.split("&")]
    return path + "?" + "&".join(k + "=" + urllib.parse.quote(v.format(**d), safe="|:,-") for k, v in pairs)


def wait_ready(proc, probe, timeout):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise SystemExit("server exited")
        try:
            if probe():
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise SystemExit("not ready")


def run_vault():
    d = tempfile.mkdtemp(prefix="uscore-vault-"); port = free_port(); log = open(d + ".log", "w")
    args = ["java"] + os.environ.get("VAULT_JAVA_OPTS", "").split() + ["-jar", VAULT_JAR, "serve", "--data-dir", d, "--port", str(port)]
    env = dict(os.environ)
    if PG:
        args += ["--index-url", fresh_db("uscore_vault")]; env["VAULT_INDEX_USER"] = "postgres"
    p = subprocess.Popen(args, stdout=log, stderr=log, env=env)
    try:
        ctx = lambda: ssl.create_default_context(cafile=os.path.join(d, "tls", "ca.pem"))

        def probe():
            c = http.client.HTTPSConnection("localhost", port, context=ctx(), timeout=2)
            c.request("GET", "/actuator/health/readiness"); return c.getresponse().status == 200
        wait_ready(p, probe, 120)
        tok = subprocess.check_output(["java", "-jar", VAULT_JAR, "token", "--data-dir", d, "--role", "practitioner",
                                       "--subject", "uscore-bench", "--ttl", "1h"], text=True).strip().splitlines()[-1]
        return measure("hds-vault", Client("localhost", port, ctx(), tok))
    finally:
        p.terminate(); p.wait(60); shutil.rmtree(d, ignore_errors=True)


def run_hapi():
    d = tempfile.mkdtemp(prefix="uscore-hapi-"); port = free_port(); log = open(d + ".log", "w")
    args = ["java", "-jar", HAPI_WAR, "--server.port=%d" % port]
    if PG:
        args += ["--spring.datasource.url=" + fresh_db("uscore_hapi"), "--spring.datasource.username=postgres",
                 "--spring.datasource.driverClassName=org.postgresql.Driver",
                 "--spring.jpa.properties.hibernate.dialect=ca.uhn.fhir.jpa.model.dialect.HapiFhirPostgresDialect"]
    else:
        args += ["--spring.datasource.url=jdbc:h2:file:%s/h2" % d]
    p = subprocess.Popen(args, stdout=log, stderr=log, cwd=d)
    try:
        def probe():
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2); c.request("GET", "/fhir/metadata")
            return c.getresponse().status == 200
        wait_ready(p, probe, 400)
        return measure("hapi-jpa-starter-8.8.0", Client("127.0.0.1", port, None, None))
    finally:
        p.terminate(); p.wait(60); shutil.rmtree(d, ignore_errors=True)


print("database: " + ("PostgreSQL" if PG else "embedded H2"), flush=True)
v = run_vault(); print(json.dumps(v), flush=True)
if VAULT_ONLY:
    sys.exit(0)
h = run_hapi(); print(json.dumps(h), flush=True)
print("| search | vault p50 / p99 (ms) | HAPI p50 / p99 (ms) | p50 vault/HAPI | first-page entries vault / HAPI |")
print("|---|---|---|---|---|")
for s in SEARCHES:
    a, b = v["searches"].get(s), h["searches"].get(s)
    if a and b:
        print("| `%s` | %s / %s | %s / %s | %.2f | %d / %d |" % (s, a["p50_ms"], a["p99_ms"], b["p50_ms"], b["p99_ms"],
                                                        a["p50_ms"] / b["p50_ms"], a["first_page_entries"], b["first_page_entries"]))
    else:
        print("| `%s` | %s | %s | - | - |" % (s, "error" if not a else a["p50_ms"], "error" if not b else b["p50_ms"]))
