"""Screens of the dashboard: main (the table), help, confirm/input dialogs, column chooser; compare, sweep, queue, log and plots are built alongside."""
