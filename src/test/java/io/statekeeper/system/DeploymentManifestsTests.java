package io.statekeeper.system;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The deployment files agree with the application: probe paths and ports, the shutdown
 * timeout, the data directory, the security context, and the metric names the dashboard
 * and rules use.
 */
class DeploymentManifestsTests {

	private static final Path ROOT = Path.of("").toAbsolutePath();

	@SuppressWarnings("unchecked")
	private static <T> T at(Object node, Object... path) {
		Object current = node;
		for (Object key : path) {
			current = (key instanceof Integer index) ? ((List<Object>) current).get(index)
					: ((Map<String, Object>) current).get(key);
		}
		return (T) current;
	}

	private static Map<String, Object> yaml(String file) throws IOException {
		try (InputStream in = Files.newInputStream(ROOT.resolve(file))) {
			return new Yaml().load(in);
		}
	}

	private static Map<String, Object> statefulSet() throws IOException {
		return yaml("deploy/k8s/statefulset.yaml");
	}

	private static Map<String, Object> container() throws IOException {
		return at(statefulSet(), "spec", "template", "spec", "containers", 0);
	}

	private static int portNamed(Map<String, Object> container, String name) {
		List<Map<String, Object>> ports = at(container, "ports");
		return ports.stream()
			.filter((port) -> name.equals(port.get("name")))
			.map((port) -> (Integer) port.get("containerPort"))
			.findFirst()
			.orElseThrow();
	}

	@Test
	void probesUseTheManagementPortAndTheHealthGroupsOfTheApplication() throws IOException {
		Map<String, Object> application = yaml("src/main/resources/application.yaml");
		Map<String, Object> container = container();

		assertThat(portNamed(container, "http")).isEqualTo((Integer) at(application, "server", "port"));
		assertThat(portNamed(container, "management"))
			.isEqualTo((Integer) at(application, "management", "server", "port"));
		assertThat((String) at(container, "livenessProbe", "httpGet", "path")).isEqualTo("/actuator/health/liveness");
		assertThat((String) at(container, "readinessProbe", "httpGet", "path")).isEqualTo("/actuator/health/readiness");
		for (String probe : List.of("livenessProbe", "readinessProbe", "startupProbe")) {
			assertThat((String) at(container, probe, "httpGet", "port")).isEqualTo("management");
		}
		assertThat((Boolean) at(application, "management", "endpoint", "health", "probes", "enabled")).isTrue();
		assertThat((String) at(application, "management", "endpoint", "health", "group", "readiness", "include"))
			.contains("storage");
		assertThat((String) at(application, "management", "endpoints", "web", "exposure", "include"))
			.isEqualTo("health, info, prometheus");
	}

	@Test
	void theGracePeriodOutlastsTheShutdownTimeout() throws IOException {
		Map<String, Object> application = yaml("src/main/resources/application.yaml");
		String timeout = at(application, "spring", "lifecycle", "timeout-per-shutdown-phase");
		assertThat((String) at(application, "server", "shutdown")).isEqualTo("graceful");
		int seconds = Integer.parseInt(timeout.replace("s", ""));
		assertThat((Integer) at(statefulSet(), "spec", "template", "spec", "terminationGracePeriodSeconds"))
			.isGreaterThan(seconds);
	}

	@Test
	void oneReplicaRunsNonRootOnAReadOnlyRootWithItsDataOnThePersistentVolume() throws IOException {
		Map<String, Object> set = statefulSet();
		Map<String, Object> container = container();
		assertThat((Integer) at(set, "spec", "replicas")).isEqualTo(1);
		assertThat((Boolean) at(set, "spec", "template", "spec", "securityContext", "runAsNonRoot")).isTrue();
		assertThat((Boolean) at(container, "securityContext", "readOnlyRootFilesystem")).isTrue();
		assertThat((Boolean) at(container, "securityContext", "allowPrivilegeEscalation")).isFalse();
		assertThat((List<String>) at(container, "securityContext", "capabilities", "drop")).containsExactly("ALL");
		assertThat((Object) at(container, "resources", "limits", "memory")).isNotNull();
		List<Map<String, Object>> env = at(container, "env");
		String dataDir = env.stream()
			.filter((variable) -> "STATEKEEPER_STORAGE_DATA_DIR".equals(variable.get("name")))
			.map((variable) -> (String) variable.get("value"))
			.findFirst()
			.orElseThrow();
		List<Map<String, Object>> mounts = at(container, "volumeMounts");
		assertThat(mounts).anySatisfy((mount) -> {
			assertThat(mount.get("mountPath")).isEqualTo(dataDir);
			assertThat(mount.get("name")).isEqualTo(at(set, "spec", "volumeClaimTemplates", 0, "metadata", "name"));
		});
		assertThat(mounts).anySatisfy((mount) -> assertThat(mount.get("mountPath")).isEqualTo("/tmp"));
		Map<String, Object> kustomization = yaml("deploy/k8s/kustomization.yaml");
		for (String resource : (List<String>) at(kustomization, "resources")) {
			assertThat(ROOT.resolve("deploy/k8s").resolve(resource)).exists();
		}
	}

	@Test
	void theImageRunsNonRootWithTheDataVolume() throws IOException {
		String dockerfile = Files.readString(ROOT.resolve("Dockerfile"));
		assertThat(dockerfile).contains("USER 10001:10001", "VOLUME [\"/data\"]", "EXPOSE 8080 8081",
				"STATEKEEPER_STORAGE_DATA_DIR=/data", "./mvnw", "/actuator/health/readiness");
		assertThat(Files.readString(ROOT.resolve(".dockerignore"))).contains("target/", "data/");
	}

	@Test
	void composeWaitsOnHealthAndKeepsDataOnANamedVolume() throws Exception {
		Map<String, Object> compose = yaml("docker-compose.yml");
		Map<String, Object> services = at(compose, "services");
		assertThat(services).containsOnlyKeys("statekeeper", "prometheus", "grafana", "postgres", "statekeeper-a",
				"statekeeper-b", "balancer");
		for (String service : services.keySet()) {
			assertThat((Object) at(services, service, "healthcheck")).as(service).isNotNull();
		}
		assertThat((String) at(services, "prometheus", "depends_on", "statekeeper", "condition"))
			.isEqualTo("service_healthy");
		assertThat((String) at(services, "grafana", "depends_on", "prometheus", "condition"))
			.isEqualTo("service_healthy");
		assertThat((List<String>) at(services, "statekeeper", "volumes")).contains("statekeeper-data:/data");
		assertThat((Map<String, Object>) at(compose, "volumes")).containsKey("statekeeper-data");
		// the Compose Specification (no version key); Grafana's password is never a
		// default
		assertThat(compose).doesNotContainKey("version");
		assertThat((String) at(services, "grafana", "environment", "GF_SECURITY_ADMIN_PASSWORD"))
			.startsWith("${GRAFANA_ADMIN_PASSWORD:?");

		Path composeTool = Path.of("/usr/bin/docker-compose");
		assumeTrue(Files.isExecutable(composeTool), "docker-compose is not installed (.ci/run installs it)");
		ProcessBuilder config = new ProcessBuilder(composeTool.toString(), "-f", "docker-compose.yml", "config", "-q")
			.directory(ROOT.toFile())
			.redirectErrorStream(true);
		config.environment().put("GRAFANA_ADMIN_PASSWORD", "test-only");
		Process process = config.start();
		String output = new String(process.getInputStream().readAllBytes());
		assertThat(process.waitFor()).as(output).isZero();
		ProcessBuilder withReplicas = new ProcessBuilder(composeTool.toString(), "-f", "docker-compose.yml",
				"--profile", "postgresql", "config", "-q")
			.directory(ROOT.toFile())
			.redirectErrorStream(true);
		withReplicas.environment().put("GRAFANA_ADMIN_PASSWORD", "test-only");
		Process replicas = withReplicas.start();
		String replicasOutput = new String(replicas.getInputStream().readAllBytes());
		assertThat(replicas.waitFor()).as(replicasOutput).isZero();
		// without the password, Compose refuses to start rather than fall back to admin
		config.environment().remove("GRAFANA_ADMIN_PASSWORD");
		Process refused = config.start();
		String refusal = new String(refused.getInputStream().readAllBytes());
		assertThat(refused.waitFor()).isNotZero();
		assertThat(refusal).contains("GRAFANA_ADMIN_PASSWORD");
	}

	@Test
	void theDashboardQueriesOnlyMetricsTheServiceOrTheRulesProduce() throws IOException {
		JsonNode dashboard = JsonMapper.builder()
			.build()
			.readTree(ROOT.resolve("deploy/grafana/dashboards/statekeeper.json").toFile());
		String rules = Files.readString(ROOT.resolve("deploy/prometheus/statekeeper.rules.yml"));
		List<String> expressions = new ArrayList<>();
		for (JsonNode panel : dashboard.get("panels")) {
			for (JsonNode target : panel.get("targets")) {
				expressions.add(target.get("expr").asString());
			}
		}
		assertThat(expressions).hasSizeGreaterThanOrEqualTo(10);
		Pattern metric = Pattern.compile("statekeeper[:_][a-z0-9_:]+");
		List<String> known = List.of("statekeeper_state_writes_seconds_count",
				"statekeeper_state_writes_latency_seconds_bucket", "statekeeper_states", "statekeeper_states_damaged",
				"statekeeper_storage_writable", "statekeeper_storage_free_bytes", "statekeeper_storage_min_free_bytes",
				"statekeeper_state_backups", "statekeeper_state_backups_added_total",
				"statekeeper_state_backups_pruned_total", "statekeeper_storage_recoveries_total",
				"statekeeper_state_size_bytes_sum", "statekeeper_state_size_bytes_count",
				"statekeeper_bodies_memory_reserved_bytes", "statekeeper_bodies_memory_limit_bytes",
				"statekeeper_locks_held", "statekeeper_locks_expired", "statekeeper_locks_total",
				"statekeeper_audit_chain_intact", "statekeeper_audit_failures_total",
				"statekeeper_security_refusals_total", "statekeeper_storage_conflicts_total");
		for (String expression : expressions) {
			Matcher matcher = metric.matcher(expression);
			while (matcher.find()) {
				String name = matcher.group();
				if (name.contains(":")) {
					assertThat(rules).as("recording rule " + name).contains("record: " + name);
				}
				else {
					assertThat(known).as(expression).contains(name);
				}
			}
		}
	}

	@Test
	void everyAlertHasASeverityAndARunbookThatExists() throws IOException {
		String rules = Files.readString(ROOT.resolve("deploy/prometheus/statekeeper.rules.yml"));
		String operations = Files.readString(ROOT.resolve("docs/operations.md"));
		java.util.Set<String> anchors = new java.util.HashSet<>();
		Matcher heading = Pattern.compile("(?m)^#+ (.+)$").matcher(operations);
		while (heading.find()) {
			anchors.add(heading.group(1)
				.toLowerCase(java.util.Locale.ROOT)
				.replaceAll("[^a-z0-9 -]", "")
				.replace(' ', '-'));
		}
		Matcher alert = Pattern.compile(
				"- alert: (\\w+)\n(?:(?!- alert:)[\\s\\S])*?severity: (\\w+)(?:(?!- alert:)[\\s\\S])*?runbook_url: \"docs/operations.md#([a-z0-9-]+)\"")
			.matcher(rules);
		int alerts = 0;
		while (alert.find()) {
			alerts++;
			assertThat(alert.group(2)).as(alert.group(1)).isIn("warning", "critical");
			assertThat(anchors).as(alert.group(1) + " runbook").contains(alert.group(3));
		}
		assertThat(alerts).isEqualTo(rules.split("- alert: ", -1).length - 1).isGreaterThanOrEqualTo(12);
	}

	@SuppressWarnings("unchecked")
	private static List<Map<String, Object>> documents(String file) throws IOException {
		List<Map<String, Object>> documents = new ArrayList<>();
		try (InputStream in = Files.newInputStream(ROOT.resolve(file))) {
			for (Object document : new Yaml().loadAll(in)) {
				documents.add((Map<String, Object>) document);
			}
		}
		return documents;
	}

	private static String env(Map<String, Object> container, String name) {
		List<Map<String, Object>> env = at(container, "env");
		return env.stream()
			.filter((variable) -> name.equals(variable.get("name")))
			.map((variable) -> (String) variable.get("value"))
			.findFirst()
			.orElseThrow(() -> new AssertionError("no " + name));
	}

	@Test
	void kubernetesKeepsKeysInASecretOutsideTheDataAndTheManagementPortToPrometheus() throws IOException {
		// the Secret in the repository configures nothing: no digest, no key
		Map<String, Object> secret = yaml("deploy/k8s/secret.yaml");
		String content = at(secret, "stringData", "application-secrets.yaml");
		assertThat(content.lines().map(String::strip).filter((line) -> !line.isEmpty() && !line.startsWith("#")))
			.isEmpty();
		Map<String, Object> container = container();
		List<Map<String, Object>> mounts = at(container, "volumeMounts");
		Map<String, Object> mount = mounts.stream()
			.filter((candidate) -> "secrets".equals(candidate.get("name")))
			.findFirst()
			.orElseThrow();
		assertThat(mount.get("readOnly")).isEqualTo(true);
		assertThat(env(container, "SPRING_CONFIG_IMPORT")).contains((String) mount.get("mountPath"));
		assertThat((String) mount.get("mountPath")).doesNotStartWith(env(container, "STATEKEEPER_STORAGE_DATA_DIR"));
		List<Map<String, Object>> volumes = at(statefulSet(), "spec", "template", "spec", "volumes");
		assertThat(volumes).anySatisfy((volume) -> assertThat((String) at(volume, "secret", "secretName"))
			.isEqualTo(at(secret, "metadata", "name")));

		// 8080 for clients; 8081 only from the monitoring namespace
		Map<String, Object> policy = yaml("deploy/k8s/networkpolicy.yaml");
		List<Map<String, Object>> rules = at(policy, "spec", "ingress");
		assertThat(rules).anySatisfy((rule) -> {
			assertThat((Object) at(rule, "ports", 0, "port")).isEqualTo("http");
			assertThat(rule).doesNotContainKey("from");
		});
		assertThat(rules).anySatisfy((rule) -> {
			assertThat((Object) at(rule, "ports", 0, "port")).isEqualTo("management");
			assertThat((Object) at(rule, "from", 0, "namespaceSelector")).isNotNull();
		});
		// a rule open to everyone admits the API port only
		assertThat(rules).filteredOn((rule) -> !rule.containsKey("from"))
			.allSatisfy((rule) -> assertThat((List<Map<String, Object>>) at(rule, "ports"))
				.allSatisfy((port) -> assertThat(port.get("port")).isEqualTo("http")));
		Map<String, Object> kustomization = yaml("deploy/k8s/kustomization.yaml");
		assertThat((List<String>) at(kustomization, "resources")).contains("secret.yaml", "networkpolicy.yaml")
			.doesNotContain("servicemonitor.yaml");

		// forwarded headers only from the configured proxies
		assertThat(env(container, "SERVER_FORWARD_HEADERS_STRATEGY")).isEqualTo("native");
		assertThat(env(container, "SERVER_TOMCAT_REMOTEIP_INTERNAL_PROXIES")).isNotBlank();
	}

	@Test
	void eachPodIsScrapedOnce() throws IOException {
		for (Map<String, Object> service : documents("deploy/k8s/service.yaml")) {
			Map<String, Object> annotations = at(service, "metadata", "annotations");
			assertThat(annotations == null || !annotations.containsKey("prometheus.io/scrape"))
				.as("Service %s has no scrape annotations (the pod has)", (Object) at(service, "metadata", "name"))
				.isTrue();
		}
		assertThat((String) at(statefulSet(), "spec", "template", "metadata", "annotations", "prometheus.io/port"))
			.isEqualTo("8081");
		Map<String, Object> monitor = yaml("deploy/k8s/servicemonitor.yaml");
		Map<String, Object> headless = documents("deploy/k8s/service.yaml").get(1);
		Map<String, String> selected = at(monitor, "spec", "selector", "matchLabels");
		Map<String, String> labels = new java.util.HashMap<>(at(headless, "metadata", "labels"));
		labels.put("app.kubernetes.io/name", "statekeeper"); // added by kustomize
		assertThat(labels).containsAllEntriesOf(selected);
		assertThat(documents("deploy/k8s/service.yaml").get(0).toString()).doesNotContain("statekeeper.io/scrape");
		assertThat((String) at(monitor, "spec", "endpoints", 0, "port")).isEqualTo("management");
		assertThat((String) at(monitor, "spec", "jobLabel")).isEqualTo("app.kubernetes.io/name");
	}

	@Test
	void postgresqlRunsThreeStatelessReplicasWithABudgetAndTheDatabaseFromASecret() throws Exception {
		Map<String, Object> deployment = yaml("deploy/k8s-postgresql/deployment.yaml");
		assertThat((Integer) at(deployment, "spec", "replicas")).isEqualTo(3);
		assertThat((Integer) at(deployment, "spec", "strategy", "rollingUpdate", "maxUnavailable")).isZero();
		Map<String, Object> container = at(deployment, "spec", "template", "spec", "containers", 0);
		assertThat(env(container, "STATEKEEPER_STORAGE_TYPE")).isEqualTo("postgresql");
		Map<String, Object> secret = yaml("deploy/k8s-postgresql/database-secret.yaml");
		List<Map<String, Object>> env = at(container, "env");
		for (String variable : List.of("SPRING_DATASOURCE_URL", "SPRING_DATASOURCE_USERNAME",
				"SPRING_DATASOURCE_PASSWORD")) {
			Map<String, Object> reference = env.stream()
				.filter((candidate) -> variable.equals(candidate.get("name")))
				.map((candidate) -> (Map<String, Object>) at(candidate, "valueFrom", "secretKeyRef"))
				.findFirst()
				.orElseThrow(() -> new AssertionError("no " + variable));
			assertThat(reference.get("name")).isEqualTo(at(secret, "metadata", "name"));
			assertThat((Map<String, Object>) at(secret, "stringData")).containsEntry((String) reference.get("key"), "");
		}
		// the same pod as the file store's, but for where states live: nothing drifts
		Map<String, Object> file = container();
		for (String key : List.of("ports", "securityContext", "resources", "startupProbe", "livenessProbe",
				"readinessProbe", "volumeMounts")) {
			assertThat((Object) container.get(key)).as(key).isEqualTo(file.get(key));
		}
		for (Map<String, Object> variable : (List<Map<String, Object>>) at(file, "env")) {
			assertThat(env).as("the file store's %s", variable.get("name")).contains(variable);
		}
		Map<String, Object> budget = yaml("deploy/k8s-postgresql/poddisruptionbudget.yaml");
		assertThat((Integer) at(budget, "spec", "maxUnavailable")).isEqualTo(1);
		assertThat((Object) at(budget, "spec", "selector", "matchLabels"))
			.isEqualTo(at(deployment, "spec", "selector", "matchLabels"));

		Path kubectl = Path.of("/usr/bin/kubectl");
		assumeTrue(Files.isExecutable(kubectl), "kubectl is not installed: the overlay is not built");
		Process build = new ProcessBuilder(kubectl.toString(), "kustomize", "deploy/k8s-postgresql")
			.directory(ROOT.toFile())
			.redirectErrorStream(true)
			.start();
		String built = new String(build.getInputStream().readAllBytes());
		assertThat(build.waitFor()).as(built).isZero();
		List<String> kinds = new ArrayList<>();
		for (Object document : new Yaml().loadAll(built)) {
			kinds.add(at(document, "kind"));
		}
		// the file store's StatefulSet is left out; its Services, policy and Secret are
		// kept
		assertThat(kinds).contains("Deployment", "PodDisruptionBudget", "NetworkPolicy", "Service")
			.doesNotContain("StatefulSet");
	}

	@Test
	void composeRunsTwoReplicasOnPostgresqlBehindOnePort() throws Exception {
		Map<String, Object> services = at(yaml("docker-compose.yml"), "services");
		for (String replica : List.of("statekeeper-a", "statekeeper-b")) {
			assertThat((List<String>) at(services, replica, "profiles")).containsExactly("postgresql");
			assertThat((String) at(services, replica, "environment", "STATEKEEPER_STORAGE_TYPE"))
				.isEqualTo("postgresql");
			assertThat((String) at(services, replica, "depends_on", "postgres", "condition"))
				.isEqualTo("service_healthy");
			assertThat((String) at(services, "balancer", "depends_on", replica, "condition"))
				.isEqualTo("service_healthy");
			assertThat(Files.readString(ROOT.resolve("deploy/compose/nginx.conf"))).contains(replica + ":8080");
		}
		assertThat((String) at(services, "postgres", "environment", "POSTGRES_PASSWORD"))
			.startsWith("${POSTGRES_PASSWORD");
		assertThat((List<String>) at(services, "balancer", "ports")).containsExactly("8090:8090");
	}

}
