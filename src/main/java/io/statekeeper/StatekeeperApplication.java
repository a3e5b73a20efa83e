package io.statekeeper;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

import io.statekeeper.storage.StoreCopyCommand;

@SpringBootApplication
public class StatekeeperApplication {

	/**
	 * Runs the service; {@code copy <from> <to>} copies states between stores instead
	 * ({@link StoreCopyCommand}).
	 * @param args the command line
	 */
	public static void main(String[] args) {
		if (args.length > 0 && "copy".equals(args[0])) {
			System.exit(StoreCopyCommand.run(java.util.Arrays.copyOfRange(args, 1, args.length), System.out));
		}
		SpringApplication.run(StatekeeperApplication.class, args);
	}

}
