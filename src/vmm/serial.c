/*
 * serial.c - a 16550A UART with just enough behaviour for Linux's 8250 driver
 * and earlycon: transmit (always ready, bytes written straight out), the
 * THR-empty interrupt, loopback for the driver's probe, and scratch/divisor
 * registers that read back. The guest's console moves to virtio once it can;
 * this exists for the first messages and for debugging with console=ttyS0.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "platform.h"
#include "vm.h"

#define COM1 0x3f8

#define IER_RDI  0x01
#define IER_THRI 0x02
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_FIFO 0xc0
#define LCR_DLAB 0x80
#define MCR_LOOP 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

struct serial {
	struct vm *vm;
	int out_fd;
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thri_pending; /* THR-empty interrupt raised and not yet seen */
	bool line;         /* level of the IRQ line as last set */
};

static uint8_t serial_iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & 1) ? IIR_FIFO : 0;

	if ((s->ier & IER_THRI) && s->thri_pending)
		return IIR_THRI | fifo;
	return IIR_NONE | fifo;
}

/*
 * The IRQ line follows the UART's interrupt state: high while one is pending,
 * low otherwise (pin IRQ_SERIAL is level-triggered in the MP table). Linux's
 * 8250 driver sends tty output only on THR-empty interrupts; with edge pulses
 * one lost edge stalled every later write to the console for good, while a
 * level line is delivered again after EOI until the driver has seen it.
 */
static void serial_update_irq(struct serial *s)
{
	bool now = (serial_iir(s) & IIR_NONE) == 0;

	if (now != s->line) {
		vm_irq_line(s->vm, IRQ_SERIAL, now);
		s->line = now;
	}
}

static void serial_read(void *opaque, uint64_t off, void *data, unsigned len)
{
	struct serial *s = opaque;
	uint8_t *v = data;

	if (len != 1)
		return;
	pthread_mutex_lock(&s->lock);
	switch (off) {
	case 0:
		*v = (s->lcr & LCR_DLAB) ? s->dll : 0;
		break;
	case 1:
		*v = (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
		break;
	case 2:
		*v = serial_iir(s);
		/* Reading IIR acknowledges a THR-empty interrupt. */
		if ((*v & 0x0f) == IIR_THRI)
			s->thri_pending = false;
		serial_update_irq(s);
		break;
	case 3:
		*v = s->lcr;
		break;
	case 4:
		*v = s->mcr;
		break;
	case 5:
		*v = LSR_THRE | LSR_TEMT;
		break;
	case 6:
		if (s->mcr & MCR_LOOP) /* outputs looped back to the modem inputs */
			*v = (uint8_t)(((s->mcr & 0x02) << 3) | ((s->mcr & 0x01) << 5) |
				       ((s->mcr & 0x04) << 4) | ((s->mcr & 0x08) << 4));
		else
			*v = 0xb0; /* DCD, DSR, CTS */
		break;
	case 7:
		*v = s->scr;
		break;
	}
	pthread_mutex_unlock(&s->lock);
}

static void serial_write(void *opaque, uint64_t off, const void *data, unsigned len)
{
	struct serial *s = opaque;
	uint8_t v = *(const uint8_t *)data;

	if (len != 1)
		return;
	pthread_mutex_lock(&s->lock);
	switch (off) {
	case 0:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
		} else if (!(s->mcr & MCR_LOOP)) {
			/* A console that cannot keep up loses bytes rather than stall a vCPU. */
			if (write(s->out_fd, &v, 1) < 0) {
			}
			/* Sent at once: the register is empty again. */
			s->thri_pending = true;
		}
		break;
	case 1:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
		} else {
			/* Enabling THRI with an empty THR raises it at once, as on hardware. */
			if ((v & IER_THRI) && !(s->ier & IER_THRI))
				s->thri_pending = true;
			s->ier = v & 0x0f;
		}
		break;
	case 2:
		s->fcr = v;
		break;
	case 3:
		s->lcr = v;
		break;
	case 4:
		s->mcr = v & 0x1f;
		break;
	case 7:
		s->scr = v;
		break;
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

int serial_create(struct vm *vm, int out_fd)
{
	struct serial *s = calloc(1, sizeof(*s));
	int ret;

	if (!s)
		return -ENOMEM;
	s->vm = vm;
	s->out_fd = out_fd;
	pthread_mutex_init(&s->lock, NULL);
	ret = vm_on_close(vm, free, s);
	if (ret < 0) {
		free(s);
		return ret;
	}
	return bus_add(&vm->pio, COM1, 8, serial_read, serial_write, s, "serial");
}
