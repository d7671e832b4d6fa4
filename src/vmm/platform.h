/*
 * platform.h - the legacy PC bits a Linux guest touches without ACPI: a
 * minimal 16550A UART for early boot messages, the debug console and power
 * port of proto.h, the i8042 and port 0xcf9 reset lines.
 */
#ifndef LXS_PLATFORM_H
#define LXS_PLATFORM_H

struct vm;

/* COM1 at 0x3f8, IRQ 4; transmitted bytes go to out_fd. Input is not wired. */
int serial_create(struct vm *vm, int out_fd);

/* Debug console (bytes to debug_fd), power port, reset lines. */
int platform_create(struct vm *vm, int debug_fd);

#endif
