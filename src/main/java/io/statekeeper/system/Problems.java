package io.statekeeper.system;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;

/**
 * Writes an RFC 9457 problem straight to a servlet response, for the places that answer
 * before Spring MVC does (authentication, authorization, the request firewall).
 */
public final class Problems {

	/** The base of every problem {@code type}. */
	public static final String TYPE_BASE = "https://statekeeper.io/problems/";

	private static final JsonMapper MAPPER = JsonMapper.builder().build();

	private Problems() {
	}

	public static void write(HttpServletRequest request, HttpServletResponse response, HttpStatus status, String slug,
			String title, String detail, Map<String, String> headers) throws IOException {
		response.setStatus(status.value());
		headers.forEach(response::setHeader);
		response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
		response.getOutputStream().write(body(status.value(), slug, title, detail, request.getRequestURI()));
	}

	/**
	 * An RFC 9457 problem's JSON, the one shape every refusal outside Spring MVC has.
	 * @param status the HTTP status
	 * @param slug the cause, appended to {@link #TYPE_BASE}
	 * @param title a short title
	 * @param detail what happened
	 * @param instance the request's path ({@code null}: none), with anything but plain
	 * path characters replaced
	 * @return the UTF-8 bytes
	 */
	public static byte[] body(int status, String slug, String title, String detail, String instance) {
		Map<String, Object> problem = new LinkedHashMap<>();
		problem.put("type", TYPE_BASE + slug);
		problem.put("title", title);
		problem.put("status", status);
		problem.put("detail", detail);
		if (instance != null) {
			problem.put("instance", instance.replaceAll("[^A-Za-z0-9/._~-]", "_"));
		}
		return MAPPER.writeValueAsBytes(problem);
	}

}
