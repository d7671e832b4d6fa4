/*
 * detect.h - is /dev/kvm able to run a normal guest at hardware speed?
 *
 * Some hosts serve /dev/kvm from a software hypervisor (kvm_pvm) that runs an
 * ordinary guest by instruction emulation, around 2 million instructions a
 * second: Linux never finishes booting there. lxs-vm refuses such a host with
 * a sentence that says why, instead of appearing to hang.
 */
#ifndef LXS_DETECT_H
#define LXS_DETECT_H

#include <stddef.h>

enum kvm_speed { KVM_FAST, KVM_SLOW, KVM_MISSING };

/*
 * Checks for the kvm_pvm module, then times a 1e6-iteration loop in a tiny
 * real-mode guest (about 1 ms on hardware, 5 ms nested under TCG, over a
 * second on kvm_pvm), giving up after a quarter of a second. why receives a
 * sentence for the user when the answer is not KVM_FAST.
 */
enum kvm_speed kvm_detect_speed(double *loop_ms, char *why, size_t whylen);

#endif
