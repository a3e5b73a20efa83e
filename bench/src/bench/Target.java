package bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static bench.Bench.*;
import static bench.BareServer.*;
import static bench.Compare.*;
import static bench.Floor.*;
import static bench.Http.*;
import static bench.Memory.*;

/**
 * A target under load: the service jar, the bare server or etcd, in a process of its own,
 * driven by wrk.
 */
final class Target {

	final String name;

	final Process process;

	final String base;

	final String authorization;

	final int management;

	/**
	 * Numbers the files scripts are written to, over all targets: two builds of the
	 * service (--ab) share a name, and a script holds its target's token.
	 */
	static final AtomicInteger FILES = new AtomicInteger();

	Target(String name, Process process, String base, String authorization, int management) {
		this.name = name;
		this.process = process;
		this.base = base;
		this.authorization = authorization;
		this.management = management;
	}

	boolean etcd() {
		return this.name.equals("etcd");
	}

	/** The service reports its JIT's compilation time; etcd and the bare server don't. */
	boolean reportsCompilation() {
		return this.management != 0;
	}

	static Target statekeeper(Path dir, String heap, String... options) throws Exception {
		try (Stream<Path> jars = Files.list(Path.of("target"))) {
			return statekeeper(dir, heap,
					jars.filter((p) -> p.getFileName().toString().matches("statekeeper-.*\\.jar"))
						.findFirst()
						.orElseThrow(() -> new IllegalStateException("run ./mvnw -B package -DskipTests first")),
					options);
		}
	}

	/** The service jar; {@code options} such as {@code --statekeeper.storage.type=postgresql}. */
	static Target statekeeper(Path dir, String heap, Path jar, String... options) throws Exception {
		int port = freePort();
		int management = freePort();
		List<String> command = new ArrayList<>(List.of("java", heap, "-jar", jar.toString(),
				"--statekeeper.storage.data-dir=" + dir, "--server.port=" + port,
				"--management.server.port=" + management, "--statekeeper.storage.min-free-space=0"));
		command.addAll(List.of(options));
		Process process = new ProcessBuilder(command)
			.redirectErrorStream(true)
			.redirectOutput(dir.resolveSibling(dir.getFileName() + ".log").toFile())
			.start();
		try {
			await("http://127.0.0.1:" + management + "/actuator/health/readiness", process);
		}
		catch (IllegalStateException ex) {
			process.destroyForcibly().waitFor();
			List<String> log = Files.readAllLines(dir.resolveSibling(dir.getFileName() + ".log"));
			throw new IllegalStateException(ex.getMessage() + "; the end of its log:\n"
					+ String.join("\n", log.subList(Math.max(0, log.size() - 30), log.size())), ex);
		}
		String token = Files.readString(dir.resolve("admin.token")).strip();
		return new Target("statekeeper", process, "http://127.0.0.1:" + port, "Bearer " + token, management);
	}

	/** The recipe behind a bare HTTP server ({@link BareServer#bare}), in a JVM of its own. */
	static Target bare(Path dir) throws Exception {
		int port = freePort();
		Process process = new ProcessBuilder("java", "-Xmx1g", "-cp", System.getProperty("java.class.path"),
				"bench.Bench", "--bare", dir.toString(), String.valueOf(port))
			.redirectErrorStream(true)
			.redirectOutput(dir.resolveSibling("bare.log").toFile())
			.start();
		await("http://127.0.0.1:" + port + "/health", process);
		return new Target("bare", process, "http://127.0.0.1:" + port, "none", 0);
	}

	static Target etcd(Path dir) throws Exception {
		int client = freePort();
		int peer = freePort();
		Process process = new ProcessBuilder("etcd", "--data-dir", dir.toString(), "--listen-client-urls",
				"http://127.0.0.1:" + client, "--advertise-client-urls", "http://127.0.0.1:" + client,
				"--listen-peer-urls", "http://127.0.0.1:" + peer, "--initial-advertise-peer-urls",
				"http://127.0.0.1:" + peer, "--initial-cluster", "default=http://127.0.0.1:" + peer,
				"--max-request-bytes", String.valueOf(32 * 1024 * 1024), "--quota-backend-bytes",
				String.valueOf(8L * 1024 * 1024 * 1024), "--log-level", "error")
			.redirectErrorStream(true)
			.redirectOutput(dir.resolveSibling("etcd.log").toFile())
			.start();
		await("http://127.0.0.1:" + client + "/health", process);
		return new Target("etcd", process, "http://127.0.0.1:" + client, null, 0);
	}

	HttpRequest put(String key, byte[] body) {
		return HttpRequest.newBuilder(URI.create(this.base + "/api/v1/states/" + key))
			.header("Authorization", this.authorization)
			.header("Content-Type", "application/json")
			.PUT(HttpRequest.BodyPublishers.ofByteArray(body))
			.build();
	}

	HttpRequest get(String key) {
		return HttpRequest.newBuilder(URI.create(this.base + "/api/v1/states/" + key))
			.header("Authorization", this.authorization)
			.build();
	}

	/** Stores one value directly; returns its ETag (statekeeper). */
	String seed(String key, byte[] body) throws Exception {
		HttpRequest request = etcd()
				? HttpRequest.newBuilder(URI.create(this.base + "/v3/kv/put"))
					.POST(HttpRequest.BodyPublishers.ofString(etcdPut(b64(key.getBytes()), b64(body))))
					.build()
				: put(key, body);
		HttpResponse<String> response = CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
		if (response.statusCode() / 100 != 2) {
			throw new IllegalStateException(this.name + ": " + response.statusCode() + " " + response.body());
		}
		return response.headers().firstValue("ETag").orElse(null);
	}

	/**
	 * PUT {@code body} under {@code key}, or, with {@code distinct}, under a key of
	 * each wrk thread's own (one connection per thread).
	 */
	Path putScript(String key, byte[] body, boolean distinct) throws IOException {
		StringBuilder lua = new StringBuilder(preamble());
		if (etcd()) {
			Path value = write("value", b64(body).getBytes(StandardCharsets.US_ASCII));
			lua.append("local value = read(\"").append(value).append("\")\n");
			lua.append("local keys = {");
			for (int i = 1; i <= 16; i++) {
				lua.append('"').append(b64((key + "-" + i).getBytes())).append("\",");
			}
			lua.append("}\nlocal single = \"").append(b64(key.getBytes())).append("\"\n");
			lua.append("function init(args)\n  local k = single\n");
			if (distinct) {
				lua.append("  k = keys[id]\n");
			}
			lua.append("  req = wrk.format(\"POST\", \"/v3/kv/put\", {}, '{\"key\":\"' .. k .. '\",\"value\":\"' "
					+ ".. value .. '\"}')\nend\n");
		}
		else {
			Path file = write("body", body);
			lua.append("local body = read(\"").append(file).append("\")\n");
			lua.append("function init(args)\n  local path = \"/api/v1/states/").append(key).append("\"\n");
			if (distinct) {
				lua.append("  path = path .. \"-\" .. id\n");
			}
			lua.append("  req = wrk.format(\"PUT\", path, headers, body)\nend\n");
		}
		lua.append("function request() return req end\n");
		return script(lua);
	}

	/** GET (statekeeper, with If-None-Match when {@code etag} is given) or range (etcd). */
	Path getScript(String key, String etag) throws IOException {
		StringBuilder lua = new StringBuilder(preamble());
		if (etcd()) {
			lua.append("function init(args)\n  req = wrk.format(\"POST\", \"/v3/kv/range\", {}, '{\"key\":\"")
				.append(b64(key.getBytes()))
				.append("\"}')\nend\n");
		}
		else {
			if (etag != null) {
				lua.append("headers[\"If-None-Match\"] = '").append(etag).append("'\n");
			}
			lua.append("function init(args)\n  req = wrk.format(\"GET\", \"/api/v1/states/")
				.append(key)
				.append("\", headers)\nend\n");
		}
		lua.append("function request() return req end\n");
		return script(lua);
	}

	/**
	 * Every client writes one state with If-Match: on a 412 it reads the current
	 * ETag and tries again; only the 200s count.
	 */
	Path ifMatchScript(String key, byte[] body) throws IOException {
		Path file = write("body", body);
		StringBuilder lua = new StringBuilder(preamble());
		lua.append("local body = read(\"").append(file).append("\")\n");
		lua.append("local path = \"/api/v1/states/").append(key).append("\"\n");
		lua.append("""
				local etag = nil
				function request()
				  if etag == nil then return wrk.format("GET", path, headers) end
				  local h = {}
				  for k, v in pairs(headers) do h[k] = v end
				  h["If-Match"] = etag
				  return wrk.format("PUT", path, h, body)
				end
				function response(status, response_headers, response_body)
				  if status == 200 then
				    ok = ok + 1
				    etag = response_headers["ETag"]
				  else
				    etag = nil
				  end
				end
				""");
		return script(lua);
	}

	/** Helpers every script starts with: per-thread id and success counter. */
	private String preamble() {
		StringBuilder lua = new StringBuilder();
		lua.append("""
				local threads = {}
				local counter = 0
				function setup(thread)
				  counter = counter + 1
				  thread:set("id", counter)
				  thread:set("ok", 0)
				  table.insert(threads, thread)
				end
				function read(name)
				  local f = io.open(name, "rb")
				  local data = f:read("*a")
				  f:close()
				  return data
				end
				function done(summary, latency, requests)
				  local total = 0
				  for _, thread in ipairs(threads) do total = total + thread:get("ok") end
				  io.write("OK " .. total .. "\\n")
				end
				headers = {}
				""");
		if (!etcd()) {
			lua.append("headers[\"Authorization\"] = \"").append(this.authorization).append("\"\n");
			lua.append("headers[\"Content-Type\"] = \"application/json\"\n");
		}
		return lua.toString();
	}

	private Path write(String kind, byte[] data) throws IOException {
		Path file = work.resolve(this.name + "-" + kind + "-" + FILES.incrementAndGet());
		Files.write(file, data);
		return file;
	}

	private Path script(StringBuilder lua) throws IOException {
		Path file = work.resolve(this.name + "-" + FILES.incrementAndGet() + ".lua");
		Files.writeString(file, lua);
		return file;
	}

	/** Runs wrk with one connection per thread. */
	Wrk wrk(Path script, int connections, int duration) throws Exception {
		Duration cpuBefore = cpu();
		Process wrk = new ProcessBuilder("wrk", "-t" + connections, "-c" + connections, "-d" + duration + "s",
				"--latency", "-s", script.toString(), this.base)
			.redirectErrorStream(true)
			.start();
		String output = new String(wrk.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
		if (wrk.waitFor() != 0) {
			throw new IllegalStateException("wrk failed:\n" + output);
		}
		double cpuMillis = cpu().minus(cpuBefore).toNanos() / 1e6;
		double requests = number(output, "(\\d+) requests in");
		double elapsed = durationOf(output);
		Matcher errors = Pattern.compile("Non-2xx or 3xx responses: (\\d+)").matcher(output);
		double failed = errors.find() ? Double.parseDouble(errors.group(1)) : 0;
		Matcher ok = Pattern.compile("OK (\\d+)").matcher(output);
		double okCount = ok.find() ? Double.parseDouble(ok.group(1)) : requests - failed;
		boolean conditional = Files.readString(script).contains("If-Match");
		if (failed > 0 && !conditional) {
			throw new IllegalStateException(this.name + ": " + (long) failed + " failed requests:\n" + output);
		}
		return new Wrk(requests / elapsed, (conditional ? okCount : requests - failed) / elapsed,
				percentile(output, "50%"), percentile(output, "99%"), cpuMillis / requests);
	}

	/** CPU time the target process has used so far. */
	Duration cpu() {
		return Floor.cpu(this.process.toHandle());
	}

	/** The JVM's direct buffer pool, as the service's own metrics report it. */
	long directMiB() throws Exception {
		double used = metric("jvm_buffer_memory_used_bytes\\{id=\"direct\"\\}");
		return (used >= 0) ? (long) (used / (1 << 20)) : -1;
	}

	/** The JIT's accumulated compilation time (ms), from the service's own metrics. */
	double compilationMillis() throws Exception {
		return metric("jvm_compilation_time_ms_total\\{[^}]*\\}");
	}

	/** One sample of the service's Prometheus scrape, or -1. */
	private double metric(String series) throws Exception {
		HttpRequest request = HttpRequest
			.newBuilder(URI.create("http://127.0.0.1:" + this.management + "/actuator/prometheus"))
			.header("Authorization", this.authorization)
			.build();
		String metrics = CLIENT.send(request, HttpResponse.BodyHandlers.ofString()).body();
		Matcher value = Pattern.compile("(?m)^" + series + " (\\S+)").matcher(metrics);
		return value.find() ? Double.parseDouble(value.group(1)) : -1;
	}

	long liveHeapMiB() throws Exception {
		String pid = String.valueOf(this.process.pid());
		new ProcessBuilder("jcmd", pid, "GC.run").redirectErrorStream(true).start().waitFor();
		Process info = new ProcessBuilder("jcmd", pid, "GC.heap_info").redirectErrorStream(true).start();
		String output = new String(info.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
		info.waitFor();
		Matcher used = Pattern.compile("used (\\d+)K").matcher(output);
		return used.find() ? Long.parseLong(used.group(1)) / 1024 : -1;
	}

	void stop() throws InterruptedException {
		this.process.destroy();
		this.process.waitFor();
	}

}
