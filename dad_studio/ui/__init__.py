"""dad_studio.ui"""
