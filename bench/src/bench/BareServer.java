package bench;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static bench.Bench.*;
import static bench.Compare.*;
import static bench.Floor.*;
import static bench.Http.*;
import static bench.Memory.*;
import static bench.Target.*;

/**
 * The bare server: the recipe behind HTTP and nothing else, in a process of its own.
 */
final class BareServer {

	private BareServer() {
	}

	/**
	 * The recipe behind HTTP and nothing else (run as {@code --bare dir port}, a process
	 * of its own): a thread per connection reads a request's head and its
	 * {@code Content-Length} bytes, a PUT replaces {@code dir/<path>/current.json} with
	 * the body by {@link #replace}, and the answer is an empty 200. No validation, no
	 * checksum, no read-back, no history, no authentication: what any HTTP service that
	 * keeps the recipe pays at least, on this machine.
	 */
	static void bare(Path root, int port) throws IOException {
		try (ServerSocket server = new ServerSocket(port, 64, java.net.InetAddress.getLoopbackAddress())) {
			while (true) {
				java.net.Socket socket = server.accept();
				Thread connection = new Thread(() -> serve(socket, root));
				connection.setDaemon(true);
				connection.start();
			}
		}
	}

	private static void serve(java.net.Socket socket, Path root) {
		byte[] ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
		Map<String, Path> directories = new java.util.HashMap<>();
		String prefix = Thread.currentThread().getId() + "-";
		try (socket; java.io.InputStream in = new java.io.BufferedInputStream(socket.getInputStream(), 64 * 1024)) {
			socket.setTcpNoDelay(true);
			byte[] body = new byte[0];
			for (long n = 0;; n++) {
				String requestLine = line(in);
				if (requestLine == null) {
					return;
				}
				int length = 0;
				for (String header = line(in); header != null && !header.isEmpty(); header = line(in)) {
					if (header.regionMatches(true, 0, "Content-Length:", 0, 15)) {
						length = Integer.parseInt(header.substring(15).strip());
					}
				}
				if (body.length < length) {
					body = new byte[length];
				}
				if (in.readNBytes(body, 0, length) < length) {
					return;
				}
				if (requestLine.startsWith("PUT ")) {
					String path = requestLine.split(" ")[1];
					Path directory = directories.get(path);
					if (directory == null) {
						directory = Files.createDirectories(root.resolve(path.substring(path.lastIndexOf('/') + 1)));
						directories.put(path, directory);
					}
					replace(directory, prefix + n, ByteBuffer.wrap(body, 0, length));
				}
				socket.getOutputStream().write(ok);
			}
		}
		catch (IOException ex) {
			// the client went away
		}
	}

	/** One line of a request's head, without its CRLF; null at the end of the stream. */
	private static String line(java.io.InputStream in) throws IOException {
		StringBuilder line = new StringBuilder();
		for (int b = in.read(); b != '\n'; b = in.read()) {
			if (b < 0) {
				return null;
			}
			if (b != '\r') {
				line.append((char) b);
			}
		}
		return line.toString();
	}

}
