package io.statekeeper.system;

import io.swagger.parser.OpenAPIParser;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.parser.core.models.ParseOptions;
import io.swagger.v3.parser.core.models.SwaggerParseResult;
import org.junit.jupiter.api.Test;

import io.statekeeper.SharedService;

import static io.statekeeper.RunningService.text;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The OpenAPI document at {@code /v3/api-docs}, read by a real validator
 * (swagger-parser), as a client generator would: valid, with problem responses as
 * {@code application/problem+json}, the security schemes, the response headers and a real
 * {@code info}.
 */
class OpenApiDocumentTests extends SharedService {

	private SwaggerParseResult parsed() {
		ParseOptions options = new ParseOptions();
		options.setResolve(true);
		return new OpenAPIParser().readContents(text(this.service.get("/v3/api-docs")), null, options);
	}

	@Test
	void aValidatorAcceptsTheDocument() {
		SwaggerParseResult result = parsed();
		assertThat(result.getMessages()).isEmpty();
		assertThat(result.getOpenAPI()).isNotNull();
	}

	@Test
	void everyEndpointIsThere() {
		OpenAPI api = parsed().getOpenAPI();
		assertThat(api.getPaths()).containsKeys("/api/v1/states", "/api/v1/states/{name}",
				"/api/v1/states/{name}/versions", "/api/v1/states/{name}/versions/{revision}",
				"/api/v1/states/{name}/versions/{revision}/restore", "/api/v1/states/{name}/lock", "/api/v1/audit",
				"/terraform/states/{name}", "/terraform/states/{name}/lock");
		assertThat(api.getPaths().get("/api/v1/states/{name}").getPatch()).isNotNull();
	}

	@Test
	void errorsAreProblemsAndTheHeadersClientsActOnAreDescribed() {
		OpenAPI api = parsed().getOpenAPI();
		io.swagger.v3.oas.models.Operation put = api.getPaths().get("/api/v1/states/{name}").getPut();
		for (String status : new String[] { "400", "401", "403", "412", "413", "415", "422", "503", "507" }) {
			assertThat(put.getResponses().get(status).getContent()).as(status)
				.containsOnlyKeys("application/problem+json");
			assertThat(
					put.getResponses().get(status).getContent().get("application/problem+json").getSchema().get$ref())
				.isEqualTo("#/components/schemas/Problem");
		}
		assertThat(put.getResponses().get("201").getHeaders()).containsKeys("ETag", "Location");
		assertThat(put.getResponses().get("503").getHeaders()).containsKey("Retry-After");
		assertThat(put.getResponses().get("401").getHeaders()).containsKey("WWW-Authenticate");
		assertThat(api.getComponents().getSecuritySchemes()).containsKeys("bearer", "basic");
		assertThat(api.getSecurity()).isNotEmpty();
		assertThat(api.getInfo().getTitle()).isEqualTo("Statekeeper");
		assertThat(api.getInfo().getVersion()).isNotBlank().isNotEqualTo("v0");
		assertThat(api.getInfo().getLicense()).isNotNull();
	}

}
