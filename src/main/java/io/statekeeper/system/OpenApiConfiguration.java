package io.statekeeper.system;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.swagger.v3.oas.models.Components;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.Operation;
import io.swagger.v3.oas.models.PathItem;
import io.swagger.v3.oas.models.headers.Header;
import io.swagger.v3.oas.models.info.Info;
import io.swagger.v3.oas.models.info.License;
import io.swagger.v3.oas.models.media.Content;
import io.swagger.v3.oas.models.media.IntegerSchema;
import io.swagger.v3.oas.models.media.MediaType;
import io.swagger.v3.oas.models.media.ObjectSchema;
import io.swagger.v3.oas.models.media.Schema;
import io.swagger.v3.oas.models.media.StringSchema;
import io.swagger.v3.oas.models.responses.ApiResponse;
import io.swagger.v3.oas.models.responses.ApiResponses;
import io.swagger.v3.oas.models.security.SecurityRequirement;
import io.swagger.v3.oas.models.security.SecurityScheme;
import org.springdoc.core.customizers.OpenApiCustomizer;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.info.BuildProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.HttpStatus;

/**
 * The OpenAPI document at {@code /v3/api-docs}, made fit for client generators: a real
 * {@code info}, the bearer and basic security schemes on every operation, 401 and 403 on
 * every operation, every error as {@code application/problem+json} with the
 * {@code Problem} schema and an example, and the response headers clients act on
 * ({@code ETag}, {@code Location}, {@code Retry-After}). The controllers describe what is
 * particular to each operation; this adds what is common to all.
 */
@Configuration(proxyBeanMethods = false)
class OpenApiConfiguration {

	static final String PROBLEM_JSON = "application/problem+json";

	private static final String PROBLEM = "Problem";

	@Bean
	OpenAPI statekeeperOpenApi(ObjectProvider<BuildProperties> build) {
		BuildProperties properties = build.getIfAvailable();
		return new OpenAPI()
			.info(new Info().title("Statekeeper")
				.version((properties != null) ? properties.getVersion() : "dev")
				.description("Durable, versioned JSON states for infrastructure CLIs, and a backend \"http\" "
						+ "for Terraform and OpenTofu. Every write is atomic and durable before it is "
						+ "acknowledged.")
				.license(new License().name("Apache-2.0").url("https://www.apache.org/licenses/LICENSE-2.0")))
			.components(new Components()
				.addSecuritySchemes("bearer",
						new SecurityScheme().type(SecurityScheme.Type.HTTP)
							.scheme("bearer")
							.description("Authorization: Bearer <token>"))
				.addSecuritySchemes("basic",
						new SecurityScheme().type(SecurityScheme.Type.HTTP)
							.scheme("basic")
							.description("The token's id as user name, the token as password (Terraform's "
									+ "TF_HTTP_USERNAME / TF_HTTP_PASSWORD)")))
			.security(List.of(new SecurityRequirement().addList("bearer"), new SecurityRequirement().addList("basic")));
	}

	private static Schema<?> problemSchema() {
		Schema<?> problem = new ObjectSchema().description("RFC 9457 problem details")
			.addProperty("type", new StringSchema().format("uri").description("https://statekeeper.io/problems/<slug>"))
			.addProperty("title", new StringSchema())
			.addProperty("status", new IntegerSchema())
			.addProperty("detail", new StringSchema())
			.addProperty("instance", new StringSchema());
		problem.setRequired(List.of("type", "title", "status"));
		return problem;
	}

	@Bean
	OpenApiCustomizer problemResponses() {
		return (api) -> {
			if (api.getPaths() == null) {
				return;
			}
			// added here, after springdoc has dropped the schemas nothing referenced yet
			api.getComponents().addSchemas(PROBLEM, problemSchema());
			api.getPaths().forEach((path, item) -> {
				for (Map.Entry<PathItem.HttpMethod, Operation> entry : item.readOperationsMap().entrySet()) {
					complete(entry.getKey(), entry.getValue());
				}
			});
		};
	}

	private static void complete(PathItem.HttpMethod method, Operation operation) {
		if (operation.getResponses() == null) {
			operation.setResponses(new ApiResponses());
		}
		ApiResponses responses = operation.getResponses();
		responses.putIfAbsent("401", new ApiResponse().description("No valid token"));
		responses.putIfAbsent("403", new ApiResponse().description("The token's role or scope does not allow this"));
		Map<String, ApiResponse> sorted = new LinkedHashMap<>();
		responses.keySet().stream().sorted().forEach((code) -> sorted.put(code, responses.get(code)));
		responses.clear();
		responses.putAll(sorted);
		responses.forEach((code, response) -> {
			int status = Integer.parseInt(code);
			if (status >= 400) {
				response.setContent(problem(status, response.getDescription()));
			}
			if (status == 401) {
				response.addHeaderObject("WWW-Authenticate", header("The schemes the service accepts"));
			}
			if (status == 503 || status == 507) {
				response.addHeaderObject("Retry-After", header("Seconds to wait before retrying, when it may help"));
			}
			if ((status == 200 || status == 201) && method != PathItem.HttpMethod.DELETE && isState(operation)) {
				response.addHeaderObject("ETag", header("The revision in quotes: \"<revision>\""));
			}
			if (status == 201) {
				response.addHeaderObject("Location", header("The new state's address"));
			}
		});
	}

	private static boolean isState(Operation operation) {
		return operation.getTags() != null && operation.getTags().contains("states");
	}

	private static Header header(String description) {
		return new Header().description(description).schema(new StringSchema());
	}

	private static Content problem(int status, String description) {
		HttpStatus known = HttpStatus.resolve(status);
		Map<String, Object> example = new LinkedHashMap<>();
		example.put("type", "https://statekeeper.io/problems/...");
		example.put("title", (known != null) ? known.getReasonPhrase() : "Error");
		example.put("status", status);
		example.put("detail", (description != null) ? description : "");
		return new Content().addMediaType(PROBLEM_JSON,
				new MediaType().schema(new Schema<>().$ref("#/components/schemas/" + PROBLEM)).example(example));
	}

}
